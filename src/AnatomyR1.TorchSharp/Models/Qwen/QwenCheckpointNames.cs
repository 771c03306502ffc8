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
}
