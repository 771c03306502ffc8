using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo.Losses;

/// <summary><see cref="GrpoLossType.Grpo"/>: the mean over completions of each completion's mean token loss (a shard's mean over its completions, divided by the number of shards).</summary>
public sealed class SequenceMeanLoss : GrpoLoss
{
    /// <inheritdoc />
    public override GrpoLossType Type => GrpoLossType.Grpo;

    /// <inheritdoc />
    public override Tensor Reduce(Tensor perTokenLoss, Tensor mask, GrpoLossContext context)
    {
        using var scope = NewDisposeScope();
        var perCompletion = (perTokenLoss * mask).sum(1) / mask.sum(1).clamp_min(1);
        var loss = perCompletion.mean() / context.AccumulationSteps;
        return (context.Shards > 1 ? loss / context.Shards : loss).MoveToOuterDisposeScope();
    }
}
