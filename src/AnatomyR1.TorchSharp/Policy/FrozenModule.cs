using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>For policy authors: turns a freshly built module into a frozen copy of another (the reference model of <see cref="IVisionLanguagePolicy.CreateFrozenCopy"/>).</summary>
public static class FrozenModule
{
    /// <summary>Copies every state entry of <paramref name="source"/> into <paramref name="copy"/> (same architecture), switches its gradients off and puts it in evaluation mode.</summary>
    /// <typeparam name="T">The module type.</typeparam>
    /// <param name="source">The module to copy.</param>
    /// <param name="copy">A new module of the same configuration.</param>
    /// <returns><paramref name="copy"/>.</returns>
    /// <exception cref="KeyNotFoundException">The copy has a state entry the source lacks.</exception>
    public static T CopyFrom<T>(this T copy, nn.Module source)
        where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(copy);
        ArgumentNullException.ThrowIfNull(source);
        var state = source.state_dict();
        using (no_grad())
        {
            foreach (var (name, target) in copy.state_dict())
            {
                target.copy_(state[name]);
            }
        }

        foreach (var p in copy.parameters())
        {
            p.requires_grad = false;
        }

        copy.eval();
        return copy;
    }
}
