using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary><see cref="GrpoLossType.Bnpo"/>: the sum of token losses over the micro-batch's token count.</summary>
public sealed class BnpoLoss : GrpoLoss
{
    /// <inheritdoc />
    public override GrpoLossType Type => GrpoLossType.Bnpo;

    /// <inheritdoc />
    public override Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context)
    {
        using var scope = NewDisposeScope();
        return ((perTokenLoss * mask).sum() / mask.sum().clamp_min(1) / context.AccumulationSteps).MoveToOuterDisposeScope();
    }
}
