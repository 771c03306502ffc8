using Microsoft.ML;

namespace AnatomyR1.Persistence;

/// <summary>What a component's <c>LoadComponent</c> method receives.</summary>
/// <param name="Folder">The folder the component was saved into.</param>
/// <param name="MLContext">The ML.NET context of the load.</param>
/// <param name="Device">Device for components that hold tensors: auto, cpu, cuda or cuda:N.</param>
public sealed record ComponentLoadContext(string Folder, MLContext MLContext, string Device = "auto")
{
    /// <summary>The same context for a sub-folder (a component nested in another).</summary>
    /// <param name="name">The sub-folder's name.</param>
    /// <returns>The context.</returns>
    public ComponentLoadContext Child(string name) => this with { Folder = Path.Combine(Folder, name) };
}
