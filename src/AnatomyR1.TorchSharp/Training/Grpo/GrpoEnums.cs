using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>How rewards are scaled into advantages (<see cref="GrpoOptions.ScaleRewards"/>).</summary>
public enum ScaleRewards
{
    /// <summary>A = (r − mean(group)) / (std(group) + 1e-4): the original GRPO.</summary>
    Group,

    /// <summary>A = (r − mean(group)) / (std(whole batch) + 1e-4): one scale for the batch.</summary>
    Batch,

    /// <summary>A = r − mean(group): no scaling (Dr. GRPO).</summary>
    None,
}

/// <summary>How the per-token losses are normalised into one scalar (<see cref="GrpoOptions.LossType"/>).</summary>
public enum GrpoLossType
{
    /// <summary>Mean over completions of (sum over the completion's tokens / its length).</summary>
    Grpo,

    /// <summary>Sum over the micro-batch's tokens / number of those tokens.</summary>
    Bnpo,

    /// <summary>Sum / (completions · <see cref="GenerationOptions.MaxNewTokens"/>): no length bias.</summary>
    DrGrpo,

    /// <summary>Sum / tokens in the whole accumulated batch of the optimiser step (all micro-batches).</summary>
    Dapo,

    /// <summary>A user-supplied <see cref="Losses.GrpoLoss"/> in <see cref="GrpoOptions.Loss"/>.</summary>
    Custom,
}
