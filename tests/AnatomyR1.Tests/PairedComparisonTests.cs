using AnatomyR1.Evaluation;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>The paired comparison on hand-computed cases.</summary>
public sealed class PairedComparisonTests
{
    [Fact]
    public void Counts_difference_and_the_exact_mcnemar_p_value_match_hand_computation()
    {
        // A right on 0 and 1, B right on 0, 2 and 3: only A on 1, only B on 2 and 3.
        var a = new[] { true, true, false, false };
        var b = new[] { true, false, true, true };
        var c = PairedComparison.Of(a, b);
        Assert.Equal((4, 0.5, 0.75, 0.25, 1, 2), (c.Count, c.AccuracyA, c.AccuracyB, c.Difference, c.OnlyA, c.OnlyB));

        // 2 · P(X ≤ 1 | 3, ½) = 2 · (1 + 3) / 8 = 1.
        Assert.Equal(1.0, c.McNemarP, 12);

        // 10 discordant pairs all for B: 2 / 1024. 1 of 9: 2 · (1 + 9) / 512.
        Assert.Equal(2.0 / 1024, PairedComparison.McNemar(0, 10), 12);
        Assert.Equal(20.0 / 512, PairedComparison.McNemar(1, 8), 12);
        Assert.Equal(1.0, PairedComparison.McNemar(0, 0));

        // d = 3/4 discordant: (1.960 + 0.842) · √(0.75 / 4).
        Assert.Equal(2.801585 * Math.Sqrt(0.1875), c.MinimumDetectableEffect, 5);
    }

    [Fact]
    public void Identical_answers_give_a_zero_width_interval_and_one_sided_changes_exclude_zero()
    {
        var same = Enumerable.Range(0, 50).Select(i => i % 3 == 0).ToArray();
        var c = PairedComparison.Of(same, same);
        Assert.Equal((0.0, 0.0, 0.0), (c.Difference, c.Lower, c.Upper));
        Assert.False(c.Significant);

        // B fixes 20 of 200 questions A got wrong and breaks none: the whole interval is above zero.
        var a = Enumerable.Range(0, 200).Select(i => i % 2 == 0).ToArray();
        var b = a.Select((x, i) => x || i % 10 == 1).ToArray();
        var better = PairedComparison.Of(a, b, seed: 3);
        Assert.Equal(0.1, better.Difference, 12);
        Assert.True(better.Lower > 0.05 && better.Upper < 0.15, $"[{better.Lower}, {better.Upper}]");
        Assert.True(better.Significant);
        Assert.Equal(better, PairedComparison.Of(a, b, seed: 3));
    }

    [Fact]
    public void The_interval_covers_the_normal_approximation_of_a_balanced_case()
    {
        // 400 questions, 40 only-A and 60 only-B: difference 0.05, sd of the per-question difference
        // √(100/400 − 0.05²) = 0.4975, SE 0.0249, normal 95% interval ≈ [0.001, 0.099].
        var a = new bool[400];
        var b = new bool[400];
        for (int i = 0; i < 400; i++)
        {
            a[i] = i < 40 || (i >= 100 && i < 250);
            b[i] = (i >= 40 && i < 100) || (i >= 100 && i < 250);
        }

        var c = PairedComparison.Of(a, b, seed: 1);
        Assert.Equal((40, 60), (c.OnlyA, c.OnlyB));
        Assert.Equal(0.05, c.Difference, 12);
        Assert.InRange(c.Lower, -0.01, 0.012);
        Assert.InRange(c.Upper, 0.088, 0.11);
    }

    [Fact]
    public void Unpaired_inputs_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PairedComparison.Of(new[] { true }, new[] { true, false }));
        Assert.Throws<ArgumentException>(() => PairedComparison.Of(Array.Empty<bool>(), Array.Empty<bool>()));
    }
}
