namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Tensor names of Qwen2-VL and Qwen2.5-VL checkpoints. The published checkpoints use the original layout
/// (<c>model.embed_tokens.weight</c>, <c>model.layers.N.*</c>, <c>model.norm.weight</c>, <c>lm_head.weight</c>,
/// <c>visual.*</c>); checkpoints saved by newer transformers versions nest the decoder and the vision tower
/// (<c>model.language_model.*</c>, <c>model.visual.*</c>). <see cref="ToCanonical"/> maps both to the original layout,
/// for <c>HuggingFaceCheckpoint.LoadInto</c>.
/// </summary>
public static class QwenCheckpointNames
{
    private const string NestedDecoder = "model.language_model.";
    private const string NestedVision = "model.visual.";

    /// <summary>Maps a checkpoint tensor name of either layout to the original layout; other names pass through.</summary>
    /// <param name="checkpointName">The name in the checkpoint.</param>
    /// <returns>The original-layout name (<c>model.language_model.X</c> → <c>model.X</c>, <c>model.visual.X</c> → <c>visual.X</c>).</returns>
    public static string ToCanonical(string checkpointName)
    {
        ArgumentNullException.ThrowIfNull(checkpointName);
        if (checkpointName.StartsWith(NestedDecoder, StringComparison.Ordinal))
        {
            return "model." + checkpointName[NestedDecoder.Length..];
        }

        if (checkpointName.StartsWith(NestedVision, StringComparison.Ordinal))
        {
            return "visual." + checkpointName[NestedVision.Length..];
        }

        return checkpointName;
    }

    /// <summary>
    /// The checkpoint-name → module-name mapping for a model of <paramref name="config"/>: <see cref="ToCanonical"/>, and
    /// for a tied model a stored <c>lm_head.weight</c> (some exports keep one) is skipped (null).
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    /// <returns>The mapping for <c>HuggingFaceCheckpoint.LoadInto</c>.</returns>
    public static Func<string, string?> For(QwenVLConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return name =>
        {
            string canonical = ToCanonical(name);
            return config.TieWordEmbeddings && canonical == "lm_head.weight" ? null : canonical;
        };
    }
}
