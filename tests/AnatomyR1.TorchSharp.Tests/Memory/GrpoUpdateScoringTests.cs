using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests.Memory;

/// <summary>
/// The update pass scores through <see cref="IVisionLanguagePolicy.CompletionLogProbsAndEntropy"/>: its metrics are
/// those of the former full-logits computation, exactly for the built-in model (the interface's default) and within
/// float tolerance for Qwen2.5-VL (chunked).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class GrpoUpdateScoringTests : IClassFixture<SmallSyntheticData>
{
    private static readonly HashSet<string> Timings = new() { "step_time", "tokens_per_second", "time/generation", "time/reward", "time/reference_logprobs", "time/backward" };
    private readonly SmallSyntheticData _data;

    public GrpoUpdateScoringTests(SmallSyntheticData data) => _data = data;

    private List<GrpoExample> Examples => _data.Train.Take(8).Select(s => new GrpoExample(s)).ToList();

    private static GrpoOptions Options(int steps, int iterations) => new()
    {
        Steps = steps,
        BatchSize = 2,
        NumGenerations = 4,
        NumIterations = iterations,
        LearningRate = 1e-3,
        VisionLearningRate = 1e-3,
        WarmupSteps = 0,
        Seed = 5,
        Generation = new GenerationOptions { MaxNewTokens = 24, Temperature = 0.9 },
    };

    private List<GrpoStepMetrics> Train(IVisionLanguagePolicy policy, GrpoOptions options)
    {
        using var session = new GrpoSession(policy, Examples, options);
        return session.Train().ToList();
    }

    private static List<KeyValuePair<string, double>> Compared(GrpoStepMetrics metrics) =>
        metrics.Values.Where(v => !Timings.Contains(v.Key)).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Tiny_policy_metrics_are_unchanged(int iterations)
    {
        using var current = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        using var former = new LegacyScoringPolicy(TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"));
        var expected = Train(former, Options(steps: 2, iterations));
        var actual = Train(current, Options(steps: 2, iterations));
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var a = Compared(expected[i]);
            var b = Compared(actual[i]);
            Assert.Equal(a.Select(v => v.Key), b.Select(v => v.Key));
            Assert.Contains("entropy", a.Select(v => v.Key));
            Assert.Contains("kl", a.Select(v => v.Key));
            for (int k = 0; k < a.Count; k++)
            {
                Assert.True(a[k].Value.Equals(b[k].Value), $"step {expected[i].Step} {a[k].Key}: {a[k].Value} vs {b[k].Value}");
            }
        }
    }

    [Fact]
    public void Qwen_metrics_match_the_full_logits_computation()
    {
        using var current = QwenMemoryFixtures.LoadTiny();
        current.LogProbChunkSize = 5;
        using var former = new LegacyScoringPolicy(QwenMemoryFixtures.LoadTiny());
        var expected = Compared(Train(former, Options(steps: 1, iterations: 2)).Single());
        var actual = Compared(Train(current, Options(steps: 1, iterations: 2)).Single());
        Assert.Equal(expected.Select(v => v.Key), actual.Select(v => v.Key));
        Assert.True(expected.Single(v => v.Key == "entropy").Value > 0);
        for (int k = 0; k < expected.Count; k++)
        {
            double a = expected[k].Value, b = actual[k].Value;
            Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a)), $"{expected[k].Key}: {a} vs {b}");
        }
    }
}
