using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary>
/// <see cref="GrpoLossType.Dapo"/>: the sum of token losses over the number of completion tokens in the whole
/// optimiser step (all micro-batches), so every token of the step weighs the same however it is split.
/// </summary>
public sealed class DapoLoss : GrpoLoss
{
    /// <inheritdoc />
    public override GrpoLossType Type => GrpoLossType.Dapo;

    /// <inheritdoc />
    public override Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context)
    {
        using var scope = NewDisposeScope();
        return ((perTokenLoss * mask).sum() / Math.Max(1, context.AccumulatedTokens)).MoveToOuterDisposeScope();
    }
}
