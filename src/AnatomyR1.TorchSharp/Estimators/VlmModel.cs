using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>
/// Saves and loads a fitted pipeline that ends in a <see cref="VlmTransformer"/>, in one call each. ML.NET's
/// <c>mlContext.Model.Save</c> cannot carry a third-party transformer's weights (the writer of its save context is
/// not public), so the folder holds <c>pipeline.zip</c> (the transforms before the policy, saved with
/// <c>mlContext.Model.Save</c>) and <c>policy/</c> (config, safetensors weights, vocabulary). The folder is written
/// beside the destination and renamed into place.
/// </summary>
public static class VlmModel
{
    private const string PipelineFile = "pipeline.zip";
    private const string PolicyFolder = "policy";
    private const string SettingsFile = "transformer.json";

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
        var (prefix, vlm) = Split(model);
        AnatomyR1.IO.AtomicFile.WriteFolder(folder, staging =>
        {
            mlContext.Model.Save(new TransformerChain<ITransformer>(prefix.ToArray()), inputSchema, Path.Combine(staging, PipelineFile));
            vlm.Policy.Save(Path.Combine(staging, PolicyFolder));
            var settings = new JsonObject
            {
                ["image_path_column"] = vlm.ImageInput.ImagePathColumn,
                ["pixels_column"] = vlm.ImageInput.PixelsColumn,
                ["pixel_scale"] = vlm.ImageInput.PixelScale,
                ["answer_extraction"] = vlm.Strategy.ToString(),
                ["max_new_tokens"] = vlm.Generation.MaxNewTokens,
                ["batch_size"] = vlm.BatchSize,
            };
            File.WriteAllText(Path.Combine(staging, SettingsFile), settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        });
    }

    /// <summary>Loads a model saved by <see cref="Save"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="inputSchema">The schema the model was fitted on.</param>
    /// <param name="device">Device for the policy.</param>
    /// <returns>The chain: the saved transforms followed by the <see cref="VlmTransformer"/>.</returns>
    public static TransformerChain<ITransformer> Load(MLContext mlContext, string folder, out DataViewSchema inputSchema, string device = "auto")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        string pipeline = Path.Combine(folder, PipelineFile);
        if (!File.Exists(pipeline))
        {
            throw new InvalidDataException($"'{folder}' is not a saved AnatomyR1 model: {PipelineFile} is missing.");
        }

        var prefix = mlContext.Model.Load(pipeline, out inputSchema);
        var policy = TinyVlmPolicy.Load(Path.Combine(folder, PolicyFolder), device);
        var transformers = prefix is TransformerChain<ITransformer> chain ? chain.ToList() : new List<ITransformer> { prefix };
        try
        {
            transformers.Add(ReadTransformer(Path.Combine(folder, SettingsFile), policy));
        }
        catch
        {
            policy.Dispose();
            throw;
        }

        return new TransformerChain<ITransformer>(transformers.ToArray());
    }

    private static VlmTransformer ReadTransformer(string path, TinyVlmPolicy policy)
    {
        if (!File.Exists(path))
        {
            return new VlmTransformer(policy);
        }

        try
        {
            var settings = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            string strategyText = (string?)settings["answer_extraction"] ?? nameof(AnswerExtractionStrategy.TagLetter);
            if (!Enum.TryParse<AnswerExtractionStrategy>(strategyText, out var strategy))
            {
                throw new InvalidDataException($"{path}: field 'answer_extraction' has unknown value '{strategyText}'.");
            }

            var image = new VlmImageInput
            {
                ImagePathColumn = (string?)settings["image_path_column"] ?? Data.VqaColumns.ImagePath,
                PixelsColumn = (string?)settings["pixels_column"],
                PixelScale = (float?)settings["pixel_scale"] ?? 1f / 255f,
            };
            var generation = new GenerationOptions { Temperature = 0, MaxNewTokens = (int?)settings["max_new_tokens"] ?? 80 };
            return new VlmTransformer(policy, generation, strategy, image) { BatchSize = (int?)settings["batch_size"] ?? 64 };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    private static (List<ITransformer> Prefix, VlmTransformer Vlm) Split(ITransformer model)
    {
        if (model is VlmTransformer alone)
        {
            return (new List<ITransformer>(), alone);
        }

        if (model is IEnumerable<ITransformer> chain)
        {
            var list = chain.ToList();
            if (list.Count > 0 && list[^1] is VlmTransformer last)
            {
                if (list.Take(list.Count - 1).Any(t => t is VlmTransformer))
                {
                    throw new ArgumentException("Only the last transformer of the chain may be a VlmTransformer.", nameof(model));
                }

                return (list.Take(list.Count - 1).ToList(), last);
            }
        }

        throw new ArgumentException("The model must be a VlmTransformer or a transformer chain ending in one.", nameof(model));
    }
}
