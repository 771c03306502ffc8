using AnatomyR1.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>
/// Saves and loads a fitted pipeline that ends in a <see cref="VlmTransformer"/>, in one call each: a thin layer over
/// <see cref="AnatomyR1Model"/>, which stores ML.NET's own transformers with <c>mlContext.Model.Save</c> and every
/// AnatomyR1 component (the similarity scorer, the policy: config, safetensors weights, vocabulary, generation
/// settings) in its own folder. The folder is written beside the destination and renamed into place.
/// </summary>
public static class VlmModel
{
    /// <summary>Saves a model.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">A <see cref="VlmTransformer"/>, or a transformer chain whose last transformer is one.</param>
    /// <param name="inputSchema">The schema the model was fitted on.</param>
    /// <param name="folder">Destination folder (replaced if it exists).</param>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string folder)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var parts = AnatomyR1Model.Flatten(model).ToList();
        if (parts.Count == 0 || parts[^1] is not VlmTransformer)
        {
            throw new ArgumentException("The model must be a VlmTransformer or a transformer chain ending in one.", nameof(model));
        }

        if (parts.Take(parts.Count - 1).Any(t => t is VlmTransformer))
        {
            throw new ArgumentException("Only the last transformer of the chain may be a VlmTransformer.", nameof(model));
        }

        AnatomyR1Model.Save(mlContext, model, inputSchema, folder);
    }

    /// <summary>Loads a model saved by <see cref="Save"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="inputSchema">The schema the model was fitted on.</param>
    /// <param name="device">Device for the policy.</param>
    /// <returns>The chain: the saved transforms followed by the <see cref="VlmTransformer"/>.</returns>
    public static TransformerChain<ITransformer> Load(MLContext mlContext, string folder, out DataViewSchema inputSchema, string device = "auto")
    {
        var chain = AnatomyR1Model.Load(mlContext, folder, out inputSchema, device);
        if (chain.LastTransformer is not VlmTransformer)
        {
            foreach (var t in chain.OfType<IDisposable>())
            {
                t.Dispose();
            }

            throw new InvalidDataException($"'{folder}' holds a saved pipeline that does not end in a VlmTransformer; load it with AnatomyR1Model.Load.");
        }

        return chain;
    }
}
