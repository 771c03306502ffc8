using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary><see cref="GrpoLossType.Bnpo"/>: the sum of token losses over the micro-batch's token count (with shards, the global micro-batch's).</summary>
public sealed class BnpoLoss : GrpoLoss
{
    /// <inheritdoc />
    public override GrpoLossType Type => GrpoLossType.Bnpo;

    /// <inheritdoc />
    public override Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context)
    {
        using var scope = NewDisposeScope();
        if (context.Shards > 1)
        {
            // The global micro-batch's tokens: every shard divides its token sum by the same count.
            return ((perTokenLoss * mask).sum() / Math.Max(1, context.MicroBatchTokens) / context.AccumulationSteps).MoveToOuterDisposeScope();
        }

        return ((perTokenLoss * mask).sum() / mask.sum().clamp_min(1) / context.AccumulationSteps).MoveToOuterDisposeScope();
    }
}
