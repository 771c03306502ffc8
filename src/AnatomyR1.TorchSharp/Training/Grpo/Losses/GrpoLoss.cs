using static TorchSharp.torch;

using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary>What a loss normalisation may need beyond the per-token losses and their mask.</summary>
/// <param name="AccumulatedTokens">Completion tokens in the whole optimiser step (every micro-batch of every shard).</param>
/// <param name="MaxCompletionLength">The completion length limit (<see cref="GenerationOptions.MaxNewTokens"/>).</param>
/// <param name="AccumulationSteps">Micro-batches per shard whose gradients are summed into one optimiser step.</param>
/// <remarks>
/// With several shards (<see cref="GrpoOptions.Shards"/>, one or more per process in data-parallel runs) a micro-batch
/// holds one shard's part of the global micro-batch, and the step's gradient is the sum over shards: a reduction must
/// return its shard's share of the global loss (for a mean over completions, the shard's mean divided by
/// <see cref="Shards"/>; for a mean over tokens, the shard's token sum over <see cref="MicroBatchTokens"/>).
/// </remarks>
public readonly record struct GrpoLossContext(long AccumulatedTokens, int MaxCompletionLength, int AccumulationSteps)
{
    /// <summary>Shards whose gradients are summed into the step (1 without sharding). All shards hold as many completions.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>Completion tokens of this micro-batch summed over all shards (the global micro-batch); 0 when unknown.</summary>
    public long MicroBatchTokens { get; init; }
}

/// <summary>
/// Reduces masked per-token losses [N, T] of one micro-batch to the scalar whose gradient is accumulated. One small
/// class per <see cref="GrpoLossType"/>; <see cref="For"/> picks it. Derive from it for a normalisation of your own and
/// pass an instance in <see cref="GrpoOptions.Loss"/>.
/// </summary>
public abstract class GrpoLoss
{
    /// <summary>The loss type this class implements (<see cref="GrpoLossType.Custom"/> unless a built-in overrides it).</summary>
    public virtual GrpoLossType Type => GrpoLossType.Custom;

    /// <summary>The implementation of a loss type.</summary>
    /// <param name="type">The type.</param>
    /// <returns>Its reducer.</returns>
    public static GrpoLoss For(GrpoLossType type) => type switch
    {
        GrpoLossType.Grpo => new SequenceMeanLoss(),
        GrpoLossType.Bnpo => new BnpoLoss(),
        GrpoLossType.DrGrpo => new DrGrpoLoss(),
        GrpoLossType.Dapo => new DapoLoss(),
        GrpoLossType.Custom => throw new ArgumentException("GrpoLossType.Custom has no built-in implementation: set GrpoOptions.Loss to an instance of your GrpoLoss subclass.", nameof(type)),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown GRPO loss type."),
    };

    /// <summary>Reduces the per-token losses.</summary>
    /// <param name="perTokenLoss">Losses [N, T].</param>
    /// <param name="mask">1 for completion tokens that count, 0 elsewhere [N, T], same dtype.</param>
    /// <param name="context">Batch-level quantities.</param>
    /// <returns>The scalar loss of this micro-batch.</returns>
    public abstract Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context);
}
