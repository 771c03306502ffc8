using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary>
/// <see cref="GrpoLossType.DrGrpo"/>: the sum of token losses over (completions · maximum completion length), a
/// constant per batch shape, so long and short completions weigh their tokens alike.
/// </summary>
public sealed class DrGrpoLoss : GrpoLoss
{
    /// <inheritdoc />
    public override GrpoLossType Type => GrpoLossType.DrGrpo;

    /// <inheritdoc />
    public override Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context)
    {
        using var scope = NewDisposeScope();
        double denominator = (double)perTokenLoss.shape[0] * context.Shards * context.MaxCompletionLength * context.AccumulationSteps;
        return ((perTokenLoss * mask).sum() / denominator).MoveToOuterDisposeScope();
    }
}
