using AnatomyR1.Curriculum;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>The pacing functions at their boundaries and the curriculum sampler's pool, coverage and determinism.</summary>
public sealed class CurriculumTests
{
    [Theory]
    [InlineData(CurriculumPacing.Linear)]
    [InlineData(CurriculumPacing.Root)]
    [InlineData(CurriculumPacing.Stages)]
    public void PacingStartsAtC0ReachesOneAtTAndNeverFalls(CurriculumPacing pacing)
    {
        var schedule = new CurriculumSchedule(new CurriculumOptions { Pacing = pacing, StartFraction = 0.25, StageCount = 4 }, fullDataStep: 61);
        Assert.Equal(0.25, schedule.PoolFraction(1), 12);
        Assert.Equal(0.25, schedule.PoolFraction(0), 12);
        Assert.Equal(1.0, schedule.PoolFraction(61), 12);
        Assert.Equal(1.0, schedule.PoolFraction(500), 12);
        Assert.True(schedule.PoolFraction(60) < 1.0);
        for (int t = 1; t < 70; t++)
        {
            Assert.True(schedule.PoolFraction(t + 1) >= schedule.PoolFraction(t));
        }
    }

    [Fact]
    public void PacingFunctionsHaveTheirDocumentedValues()
    {
        CurriculumSchedule Make(CurriculumPacing p) => new(new CurriculumOptions { Pacing = p, StartFraction = 0.2, StageCount = 3 }, fullDataStep: 11);

        // Halfway (t = 6 of T = 11, p = 0.5).
        Assert.Equal(0.2 + (0.8 * 0.5), Make(CurriculumPacing.Linear).PoolFraction(6), 12);
        Assert.Equal(Math.Sqrt(0.04 + (0.96 * 0.5)), Make(CurriculumPacing.Root).PoolFraction(6), 12);

        // Three stages: c0 for p < 0.5, c0 + (1 − c0)/2 for 0.5 ≤ p < 1, then 1.
        var stages = Make(CurriculumPacing.Stages);
        Assert.Equal(0.2, stages.PoolFraction(5), 12);
        Assert.Equal(0.6, stages.PoolFraction(6), 12);
        Assert.Equal(0.6, stages.PoolFraction(10), 12);
        Assert.Equal(1.0, stages.PoolFraction(11), 12);

        // Pool sizes round up and never reach zero.
        Assert.Equal(1, Make(CurriculumPacing.Linear).PoolSize(1, 3));
        Assert.Equal(20, Make(CurriculumPacing.Linear).PoolSize(1, 100));
        Assert.Equal(1.0, new CurriculumSchedule(new CurriculumOptions(), 1).PoolFraction(1));
        Assert.Equal(80, new CurriculumOptions().FullDataStepFor(100));
        Assert.Equal(7, new CurriculumOptions { FullDataStep = 7 }.FullDataStepFor(100));
    }

    [Theory]
    [InlineData("StartFraction")]
    [InlineData("FullDataAt")]
    [InlineData("StageCount")]
    [InlineData("FullDataStep")]
    public void InvalidOptionsAreNamed(string option)
    {
        var o = new CurriculumOptions();
        switch (option)
        {
            case "StartFraction": o.StartFraction = 0; break;
            case "FullDataAt": o.FullDataAt = 1.5; break;
            case "StageCount": o.StageCount = 1; break;
            case "FullDataStep": o.FullDataStep = -1; break;
        }

        var ex = Assert.Throws<ArgumentException>(() => o.Validate());
        Assert.Equal(option, ex.ParamName);
    }

    [Fact]
    public void StagePacingOpensTheDatasStagesOneByOneWithTheirOwnCount()
    {
        // Six rows in the similarity estimator's 3 stages (2 rows each; S(q) order 5, 0, 4, 1, 3, 2).
        float[] scores = { 0.2f, 0.4f, 0.9f, 0.7f, 0.3f, 0.1f };
        int[] stages = { 0, 1, 2, 2, 1, 0 };
        var options = new CurriculumOptions { Pacing = CurriculumPacing.Stages, StartFraction = 0.5, FullDataStep = 5 };
        var sampler = new CurriculumSampler(scores, options, totalSteps: 10, seed: 1, stages);
        Assert.Equal(3, sampler.StageCount);
        // p = (t − 1) / (T − 1): stage ⌊2p⌋ is the last open one; every row of an open stage, nothing else.
        Assert.Equal(new[] { 2, 2, 4, 4, 6, 6 }, Enumerable.Range(1, 6).Select(sampler.PoolSize));
        Assert.All(Enumerable.Range(0, 20).Select(i => sampler.Draw(1, 0, 4)).SelectMany(d => d), r => Assert.Equal(0, stages[r]));

        // Without stage labels the same options pace by fraction with the default K = 3: ⌈(0.5 + 0.5·⌊2p⌋/2)·6⌉.
        var byFraction = new CurriculumSampler(scores, options, totalSteps: 10, seed: 1);
        Assert.Equal(new[] { 3, 3, 5, 5, 6 }, Enumerable.Range(1, 5).Select(byFraction.PoolSize));

        // A stage count that disagrees with the data, or stages that do not follow S(q), are named errors.
        var conflict = Assert.Throws<ArgumentException>(() => new CurriculumSampler(scores, new CurriculumOptions { Pacing = CurriculumPacing.Stages, StageCount = 4 }, 10, 1, stages));
        Assert.Contains("has 3 stages", conflict.Message, StringComparison.Ordinal);
        var unordered = Assert.Throws<ArgumentException>(() => new CurriculumSampler(scores, options, 10, 1, new[] { 0, 1, 2, 0, 1, 0 }));
        Assert.Contains("do not follow S(q)", unordered.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamplerServesOnlyThePoolAndReachesEveryRow()
    {
        var random = new Random(3);
        var scores = Enumerable.Range(0, 97).Select(_ => (float)random.NextDouble()).ToArray();
        var sampler = new CurriculumSampler(scores, new CurriculumOptions { StartFraction = 0.1, Pacing = CurriculumPacing.Root }, totalSteps: 100, seed: 7);
        var order = sampler.Order.ToArray();
        Assert.Equal(scores.OrderBy(s => s).ToArray(), order.Select(i => scores[i]).ToArray());

        var served = new HashSet<int>();
        for (int step = 1; step <= 100; step++)
        {
            int pool = sampler.PoolSize(step);
            var open = order.Take(pool).ToHashSet();
            foreach (int attempt in new[] { 0, 1, 2 })
            {
                var drawn = sampler.Draw(step, attempt, 8);
                Assert.Equal(8, drawn.Count);
                Assert.All(drawn, i => Assert.Contains(i, open));
                Assert.All(drawn, i => Assert.True(sampler.InPool(i, step)));
            }

            served.UnionWith(sampler.Draw(step, 0, 8));
            var metrics = sampler.Metrics(step);
            Assert.Equal((double)pool / 97, metrics["curriculum/pool_fraction"], 12);
            Assert.Equal(scores[order[pool - 1]], metrics["curriculum/pool_max_s_q"], 6);
        }

        Assert.Equal(97, served.Count);

        // Early on only the easiest rows can appear.
        Assert.Equal(10, sampler.PoolSize(1));
        Assert.All(sampler.Draw(1, 0, 8), i => Assert.True(scores[i] <= scores[order[9]]));
    }

    [Fact]
    public void OnceThePoolIsWholeEachPassServesEveryRowOnce()
    {
        var scores = Enumerable.Range(0, 40).Select(i => i / 40f).ToArray();
        var sampler = new CurriculumSampler(scores, new CurriculumOptions { FullDataStep = 1 }, totalSteps: 50, seed: 1);

        // B = 8: steps 1–5 are exactly one pass over 40 rows.
        var pass = Enumerable.Range(1, 5).SelectMany(t => sampler.Draw(t, 0, 8)).ToList();
        Assert.Equal(40, pass.Distinct().Count());
    }

    [Fact]
    public void DrawsArePureFunctionsOfSeedStepAndAttempt()
    {
        var scores = Enumerable.Range(0, 50).Select(i => (float)Math.Sin(i)).ToArray();
        var options = new CurriculumOptions { Pacing = CurriculumPacing.Stages };
        var a = new CurriculumSampler(scores, options, 30, seed: 5);
        var b = new CurriculumSampler(scores, options, 30, seed: 5);
        var other = new CurriculumSampler(scores, options, 30, seed: 6);
        Assert.Equal(a.Draw(17, 0, 6), b.Draw(17, 0, 6));
        Assert.Equal(a.Draw(17, 2, 6), b.Draw(17, 2, 6));

        // Order of calls does not matter (no hidden state).
        _ = b.Draw(3, 0, 6);
        Assert.Equal(a.Draw(20, 0, 6), b.Draw(20, 0, 6));
        Assert.NotEqual(Enumerable.Range(25, 5).SelectMany(t => a.Draw(t, 0, 6)), Enumerable.Range(25, 5).SelectMany(t => other.Draw(t, 0, 6)));
    }

    [Fact]
    public void RowsWithoutSqAreRejectedByIndex()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CurriculumSampler(new[] { 0.1f, float.NaN }, new CurriculumOptions(), 10, 0));
        Assert.Contains("row 1", ex.Message);
        Assert.Throws<ArgumentException>(() => new CurriculumSampler(Array.Empty<float>(), new CurriculumOptions(), 10, 0));
    }

    [Fact]
    public void BatchMeanSqRisesUnderTheCurriculum()
    {
        var random = new Random(11);
        var scores = Enumerable.Range(0, 400).Select(_ => (float)random.NextDouble()).ToArray();
        var sampler = new CurriculumSampler(scores, new CurriculumOptions(), totalSteps: 100, seed: 2);
        double Mean(int from, int to) => Enumerable.Range(from, to - from + 1).Average(t => sampler.MeanScore(sampler.Draw(t, 0, 8)));
        double early = Mean(1, 10), late = Mean(81, 100);
        Assert.True(early < 0.2, $"early {early}");
        Assert.InRange(late, 0.4, 0.6);
    }
}
