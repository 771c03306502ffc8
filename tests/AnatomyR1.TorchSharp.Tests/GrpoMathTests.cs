using AnatomyR1.TorchSharp.Training.Grpo;
using AnatomyR1.TorchSharp.Training.Grpo.Losses;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The GRPO maths on hand-computed numbers (expected values worked out by hand / with a calculator).</summary>
[Collection(TorchCollection.Name)]
public sealed class GrpoMathTests
{
    // Group 1 rewards [1, 0, 0, 0]: mean 0.25, population std √0.1875 = 0.4330127.
    // Group 2 rewards [1, 1, 0, 0]: mean 0.5, std 0.5.  Group 3 rewards [2, 2, 2, 2]: zero std.
    private static readonly float[] Rewards = { 1, 0, 0, 0, 1, 1, 0, 0, 2, 2, 2, 2 };

    [Fact]
    public void GroupScalingDividesByEachGroupsStd()
    {
        var a = GrpoAdvantages.Compute(Rewards, 4, ScaleRewards.Group);
        Assert.Equal(0.75 / (0.4330127 + 1e-4), a[0], 4);
        Assert.Equal(-0.25 / (0.4330127 + 1e-4), a[1], 4);
        Assert.Equal(0.5 / (0.5 + 1e-4), a[4], 4);
        Assert.Equal(-0.5 / (0.5 + 1e-4), a[7], 4);
        Assert.All(a.Skip(8), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BatchScalingDividesByTheWholeBatchsStd()
    {
        // All 12 rewards: mean 11/12, population std 0.8620067.
        var a = GrpoAdvantages.Compute(Rewards, 4, ScaleRewards.Batch);
        Assert.Equal(0.75 / (0.8620067 + 1e-4), a[0], 4);
        Assert.Equal(-0.5 / (0.8620067 + 1e-4), a[6], 4);
        Assert.All(a.Skip(8), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void NoScalingOnlyCentres()
    {
        var a = GrpoAdvantages.Compute(Rewards, 4, ScaleRewards.None);
        Assert.Equal(new[] { 0.75f, -0.25f, -0.25f, -0.25f, 0.5f, 0.5f, -0.5f, -0.5f, 0f, 0f, 0f, 0f }, a);
    }

    [Fact]
    public void UnequalGroupsAreNormalisedEachOverItsOwnMembers()
    {
        var a = GrpoAdvantages.Compute(new float[] { 1, 0, 3, 1, 1, 1 }, new[] { 2, 4 }, ScaleRewards.None);
        Assert.Equal(new[] { 0.5f, -0.5f, 1.5f, -0.5f, -0.5f, -0.5f }, a);
        Assert.Throws<ArgumentException>(() => GrpoAdvantages.Compute(Rewards, new[] { 4, 4 }, ScaleRewards.Group));
    }

    [Fact]
    public void ZeroStdGroupsAreFlagged()
    {
        Assert.Equal(new[] { false, false, true }, GrpoAdvantages.ZeroStdGroups(Rewards, new[] { 4, 4, 4 }));
    }

    // Per-token losses [[1, 2, 3], [4, 5, 9]] with mask [[1, 1, 1], [1, 1, 0]]: token sums 6 and 9 (the 9 is masked out).
    private static (Tensor Loss, Tensor Mask) Tokens() =>
        (tensor(new float[] { 1, 2, 3, 4, 5, 9 }, new long[] { 2, 3 }), tensor(new float[] { 1, 1, 1, 1, 1, 0 }, new long[] { 2, 3 }));

    [Theory]
    [InlineData(GrpoLossType.Grpo, 1, 3.25)]     // (6/3 + 9/2) / 2
    [InlineData(GrpoLossType.Bnpo, 1, 3.0)]      // 15 / 5
    [InlineData(GrpoLossType.DrGrpo, 1, 1.875)]  // 15 / (2 · 4)
    [InlineData(GrpoLossType.Dapo, 1, 1.5)]      // 15 / 10 accumulated tokens
    [InlineData(GrpoLossType.Grpo, 2, 1.625)]    // halved: two micro-batches are summed
    [InlineData(GrpoLossType.Bnpo, 2, 1.5)]
    [InlineData(GrpoLossType.DrGrpo, 2, 0.9375)]
    [InlineData(GrpoLossType.Dapo, 2, 1.5)]      // already normalised by the whole step's tokens
    public void EachLossTypeNormalisesAsDefined(GrpoLossType type, int accumulation, double expected)
    {
        using var scope = NewDisposeScope();
        var (loss, mask) = Tokens();
        var reduced = GrpoLoss.For(type).Reduce(loss, mask, new GrpoLossContext(AccumulatedTokens: 10, MaxCompletionLength: 4, AccumulationSteps: accumulation));
        Assert.Equal(type, GrpoLoss.For(type).Type);
        Assert.Equal(expected, reduced.item<float>(), 5);
    }

    [Theory]
    [InlineData(GrpoLossType.Grpo, 3.25)]     // shard 0: (6/3) / 2 = 1;  shard 1: (9/2) / 2 = 2.25
    [InlineData(GrpoLossType.Bnpo, 3.0)]      // 6/5 + 9/5: both over the global micro-batch's 5 tokens
    [InlineData(GrpoLossType.DrGrpo, 1.875)]  // 6/(1·2·4) + 9/(1·2·4)
    [InlineData(GrpoLossType.Dapo, 3.0)]      // 6/5 + 9/5
    public void ShardsReturnTheirShareSoThatTheSumIsTheWholeBatchsLoss(GrpoLossType type, double whole)
    {
        using var scope = NewDisposeScope();
        var (loss, mask) = Tokens();
        var one = new GrpoLossContext(AccumulatedTokens: 5, MaxCompletionLength: 4, AccumulationSteps: 1);
        Assert.Equal(whole, GrpoLoss.For(type).Reduce(loss, mask, one).item<float>(), 5);

        // Each row is one shard's micro-batch; the shards' losses are summed (their gradients add up over processes).
        var sharded = one with { Shards = 2, MicroBatchTokens = 5 };
        double sum = 0;
        for (int row = 0; row < 2; row++)
        {
            sum += GrpoLoss.For(type).Reduce(loss.narrow(0, row, 1), mask.narrow(0, row, 1), sharded).item<float>();
        }

        Assert.Equal(whole, sum, 5);
    }

    [Fact]
    public void RatioIsClippedOnBothSidesOnlyWhereItWouldIncreaseTheObjective()
    {
        using var scope = NewDisposeScope();
        // Ratios e^{ln 1.5} = 1.5, e^{ln 0.5} = 0.5 and 1 for two completions, advantages +1 and −1; ε = 0.2.
        var old = zeros(2, 3);
        var logp = tensor(new float[] { MathF.Log(1.5f), MathF.Log(0.5f), 0, MathF.Log(1.5f), MathF.Log(0.5f), 0 }, new long[] { 2, 3 }, requires_grad: true);
        var advantages = tensor(new float[] { 1, -1 });
        var terms = GrpoObjective.Compute(logp, old, null, advantages, 0.2, 0.2, beta: 0, gpg: false);
        // A = +1: −min(1.5, 1.2) = −1.2 (clipped high); −min(0.5, 0.8) = −0.5; −1.
        // A = −1: −min(−1.5, −1.2) = 1.5; −min(−0.5, −0.8) = 0.8 (clipped low); 1.
        var loss = terms.Loss.data<float>().ToArray();
        Assert.Equal(new[] { -1.2, -0.5, -1.0, 1.5, 0.8, 1.0 }, loss.Select(v => Math.Round(v, 5)).ToArray());
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 0 }, terms.LowClipped.data<float>().ToArray());
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 0 }, terms.HighClipped.data<float>().ToArray());
        Assert.Null(terms.Kl);

        // Clipped tokens pass no gradient; the others get −A·ρ.
        terms.Loss.sum().backward();
        var grad = logp.grad!.data<float>().ToArray();
        Assert.Equal(new[] { 0.0, -0.5, -1.0, 1.5, 0.0, 1.0 }, grad.Select(v => Math.Round(v, 5)).ToArray());
    }

    [Fact]
    public void K3KlMatchesItsDefinitionAndIsAddedWithBeta()
    {
        using var scope = NewDisposeScope();
        // ref − θ = [0, 0.5, −1] → e^d − d − 1 = [0, 0.1487213, 0.3678794].
        var logp = tensor(new float[] { 0, -0.5f, 1 }, new long[] { 1, 3 });
        var reference = zeros(1, 3);
        var terms = GrpoObjective.Compute(logp, logp, reference, tensor(new float[] { 0 }), 0.2, 0.2, beta: 0.1, gpg: false);
        var kl = terms.Kl!.data<float>().ToArray();
        Assert.Equal(0.0, kl[0], 6);
        Assert.Equal(0.1487213, kl[1], 6);
        Assert.Equal(0.3678794, kl[2], 6);
        // A = 0, so the loss is β·KL alone.
        Assert.Equal(0.03678794, terms.Loss.data<float>()[2], 6);
    }

    [Fact]
    public void GpgUsesMinusLogProbTimesAdvantageAndScalesByAlpha()
    {
        using var scope = NewDisposeScope();
        var logp = tensor(new float[] { -0.5f, -2f }, new long[] { 1, 2 });
        var terms = GrpoObjective.Compute(logp, logp, null, tensor(new float[] { 2 }), 0.2, 0.2, beta: 0, gpg: true);
        Assert.Equal(new float[] { 1f, 4f }, terms.Loss.data<float>().ToArray());
        Assert.Equal(8.0 / 6.0, GrpoObjective.GpgAlpha(8, 2), 12);
        Assert.Equal(1.0, GrpoObjective.GpgAlpha(8, 0), 12);
        Assert.Equal(0.0, GrpoObjective.GpgAlpha(8, 8), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => GrpoObjective.GpgAlpha(4, 5));
    }

    [Fact]
    public void DynamicSamplingReplacesOnlyZeroVarianceSlotsWithVaryingCandidates()
    {
        var current = new[] { false, true, true, false, true };
        var candidates = new[] { true, false, false };
        // Slot 1 takes candidate 1 (candidate 0 is itself zero-variance), slot 2 takes candidate 2, slot 4 stays.
        Assert.Equal(new[] { (1, 1), (2, 2) }, DynamicSampling.Select(current, candidates));
        Assert.Empty(DynamicSampling.Select(new[] { false, false }, new[] { false }));
    }

    [Fact]
    public void UniformSamplerIsAPureFunctionOfSeedStepAndAttempt()
    {
        var a = new UniformPromptSampler(50, 7);
        var b = new UniformPromptSampler(50, 7);
        Assert.Equal(a.Draw(3, 0, 8), b.Draw(3, 0, 8));
        Assert.NotEqual(a.Draw(3, 0, 8), a.Draw(4, 0, 8));
        Assert.NotEqual(a.Draw(3, 0, 8), a.Draw(3, 1, 8));
        Assert.Equal(8, a.Draw(3, 0, 8).Distinct().Count());
        Assert.Equal(12, new UniformPromptSampler(5, 1).Draw(1, 0, 12).Count);
    }
}
