using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The GRPO loop on the built-in checkpoint and a small synthetic dataset: metrics, freezing, determinism, resume, errors.</summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class GrpoTrainerTests : IClassFixture<SmallSyntheticData>
{
    private static readonly HashSet<string> Timings = new() { "step_time", "tokens_per_second", "time/generation", "time/reward", "time/reference_logprobs", "time/backward" };
    private readonly SmallSyntheticData _data;

    public GrpoTrainerTests(SmallSyntheticData data) => _data = data;

    private List<GrpoExample> Examples => _data.Train.Select(s => new GrpoExample(s)).ToList();

    private static GrpoOptions Small(int steps = 2) => new()
    {
        Steps = steps, BatchSize = 2, NumGenerations = 4, LearningRate = 1e-3, VisionLearningRate = 1e-3, WarmupSteps = 0, Seed = 5, Generation = new GenerationOptions { MaxNewTokens = 48 },
    };

    [Theory]
    [InlineData("NumGenerations")]
    [InlineData("EpsilonLow")]
    [InlineData("EpsilonHigh")]
    [InlineData("BatchSize")]
    [InlineData("Generation.Temperature")]
    public void InvalidOptionsAreRejectedNamingTheOption(string option)
    {
        var o = Small();
        switch (option)
        {
            case "NumGenerations": o.NumGenerations = 1; break;
            case "EpsilonLow": o.EpsilonLow = 0; break;
            case "EpsilonHigh": o.EpsilonHigh = -0.1; break;
            case "BatchSize": o.BatchSize = 64; o.NumGenerations = 64; o.Generation = o.Generation with { MaxNewTokens = 64 }; break;
            case "Generation.Temperature": o.Generation = o.Generation with { Temperature = 0 }; break;
        }

        var ex = Assert.Throws<ArgumentException>(() => o.Validate());
        Assert.Equal(option, ex.ParamName);
        Assert.Contains(option, ex.Message);
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        Assert.Throws<ArgumentException>(() => new GrpoSession(policy, Examples, o));
    }

    [Fact]
    public void StepsLogTrlMetricsToJsonLinesAndUpdateOnlyTrainableParameters()
    {
        string run = TempFolder();
        try
        {
            using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
            var vision = policy.VisionEncoderParameters().Select(p => p.detach().clone()).ToList();
            var language = policy.Model.parameters().Where(p => !policy.VisionEncoderParameters().Any(v => v.Handle == p.Handle)).Select(p => p.detach().clone()).ToList();
            var o = Small();
            o.FreezeVisionEncoder = true;
            var seen = new List<GrpoStepMetrics>();
            using (var trainer = new GrpoSession(policy, Examples, o, runFolder: run) { Progress = new SyncProgress(seen.Add) })
            {
                trainer.Train();
            }

            Assert.Equal(2, seen.Count);
            var lines = File.ReadAllLines(Path.Combine(run, GrpoSession.MetricsFile));
            Assert.Equal(2, lines.Length);
            var logged = GrpoStepMetrics.FromJsonLine(lines[1]);
            Assert.Equal(2, logged.Step);
            foreach (string name in new[]
            {
                "reward", "reward_std", "rewards/accuracy/mean", "rewards/accuracy/std", "rewards/format/mean", "rewards/format/std", "frac_reward_zero_std",
                "kl", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean", "completions/mean_length", "completions/min_length",
                "completions/max_length", "completions/clipped_ratio", "entropy", "grad_norm", "learning_rate", "step_time", "tokens_per_second",
                "time/generation", "time/reward", "time/reference_logprobs", "time/backward", "dead_groups/all_right", "dead_groups/all_wrong",
            })
            {
                Assert.True(logged.TryGet(name, out _), $"metric '{name}' missing");
            }

            Assert.Contains(logged.Values, v => v.Key.StartsWith("frac_reward_zero_std/", StringComparison.Ordinal));

            // Dead groups are all right or all wrong on accuracy, or dead on the format reward alone.
            foreach (var m in seen)
            {
                Assert.True(m["dead_groups/all_right"] + m["dead_groups/all_wrong"] <= m["frac_reward_zero_std"] + 1e-9, m.ToString());
            }
            Assert.Equal(seen[1]["reward"], logged["reward"], 9);
            Assert.InRange(logged["completions/mean_length"], 1, 48);

            // The frozen image encoder is bit-identical; the language model moved.
            var visionAfter = policy.VisionEncoderParameters().ToList();
            for (int i = 0; i < vision.Count; i++)
            {
                Assert.True(vision[i].eq(visionAfter[i]).all().item<bool>(), $"image encoder parameter {i} changed although frozen");
            }

            var languageAfter = policy.Model.parameters().Where(p => !policy.VisionEncoderParameters().Any(v => v.Handle == p.Handle)).ToList();
            Assert.Contains(Enumerable.Range(0, language.Count), i => !language[i].eq(languageAfter[i]).all().item<bool>());
            Assert.True(policy.VisionEncoderParameters().All(p => p.requires_grad), "freezing is undone when the trainer is disposed");
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void SameSeedGivesTheSameRun()
    {
        var (metricsA, weightsA) = RunFresh(Small());
        var (metricsB, weightsB) = RunFresh(Small());
        AssertSameMetrics(metricsA, metricsB);
        Assert.Equal(weightsA, weightsB);
        var other = Small();
        other.Seed = 6;
        Assert.NotEqual(weightsA, RunFresh(other).Weights);
    }

    [Fact]
    public void ResumingFromACheckpointContinuesExactlyAsTheUninterruptedRun()
    {
        string runA = TempFolder(), runB = TempFolder();
        try
        {
            var o = Small(steps: 4);
            o.CheckpointEvery = 2;
            o.KeepCheckpoints = 0;
            List<GrpoStepMetrics> straight;
            byte[] straightWeights;
            using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
            {
                using var trainer = new GrpoSession(policy, Examples, o, runFolder: runA);
                straight = trainer.Train().ToList();
                straightWeights = Weights(policy);
            }

            var checkpoints = GrpoCheckpoint.List(Path.Combine(runA, GrpoSession.CheckpointsFolder));
            Assert.Equal(new[] { 2, 4 }, checkpoints.Select(c => c.Step));
            File.Copy(Path.Combine(runA, GrpoSession.MetricsFile), Path.Combine(runB, GrpoSession.MetricsFile));
            using (var resumed = GrpoSession.Resume(checkpoints[0].Folder, Examples, o, runFolder: runB, device: "cpu"))
            {
                Assert.Equal(2, resumed.Step);
                Assert.NotNull(resumed.Reference);
                var rest = resumed.Train();
                AssertSameMetrics(straight.Skip(2).ToList(), rest);
                Assert.Equal(straightWeights, Weights((TinyVlmPolicy)resumed.Policy));
            }

            // The resumed run's log holds steps 1–2 from before the checkpoint and its own 3–4, nothing twice.
            Assert.Equal(new[] { 1, 2, 3, 4 }, File.ReadAllLines(Path.Combine(runB, GrpoSession.MetricsFile)).Select(l => GrpoStepMetrics.FromJsonLine(l).Step));

            var changed = Small(steps: 4);
            changed.Seed = 99;
            var ex = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoints[0].Folder, Examples, changed, device: "cpu"));
            Assert.Contains("seed", ex.Message);
        }
        finally
        {
            Directory.Delete(runA, recursive: true);
            Directory.Delete(runB, recursive: true);
        }
    }

    [Fact]
    public void ResumeRefusesEveryChangedSettingAndOtherDataUnlessAllowedByName()
    {
        string run = TempFolder();
        try
        {
            var o = Small(steps: 2);
            o.CheckpointEvery = 1;
            using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
            {
                using var trainer = new GrpoSession(policy, Examples, o, runFolder: run);
                trainer.RunStep();
            }

            string checkpoint = GrpoCheckpoint.List(Path.Combine(run, GrpoSession.CheckpointsFolder))[0].Folder;
            var changed = Small(steps: 2);
            changed.CheckpointEvery = 1;
            changed.LearningRate = 5e-4;
            changed.EpsilonHigh = 0.28;
            var error = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoint, Examples, changed, device: "cpu"));
            Assert.Equal(new[] { "learning_rate", "epsilon_high" }, error.Settings);
            Assert.Contains("--allow-changed learning_rate,epsilon_high", error.Message);

            // Other data: one question reworded is enough.
            var other = Examples;
            var s3 = other[3].Sample;
            other[3] = other[3] with
            {
                Sample = new AnatomyR1.Data.VqaSample { SampleId = s3.SampleId, ImagePath = s3.ImagePath, Question = s3.Question + " ", Options = s3.Options, CorrectIndex = s3.CorrectIndex, CorrectLetter = s3.CorrectLetter, Answer = s3.Answer, AnswerClass = s3.AnswerClass },
            };
            error = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoint, other, o, device: "cpu"));
            Assert.Equal(new[] { "data" }, error.Settings);
            var shuffled = Examples;
            (shuffled[0], shuffled[1]) = (shuffled[1], shuffled[0]);
            Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoint, shuffled, o, device: "cpu"));

            // Allowed by name: resumes, and says what changed.
            var warnings = new List<string>();
            using (var resumed = GrpoSession.Resume(checkpoint, other, changed, device: "cpu", allowChanged: new[] { "learning_rate", "epsilon_high", "data" }, warn: warnings.Add))
            {
                Assert.Equal(1, resumed.Step);
                resumed.RunStep();
            }

            Assert.Equal(3, warnings.Count);
            Assert.Contains(warnings, w => w.Contains("learning_rate was 0.001", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void EveryImageIsCheckedBeforeStepOneStrictlyOrLeftOutAndReported()
    {
        string folder = TempFolder();
        try
        {
            // Example 5's image is a truncated copy of a real PNG; example 9's does not decode at all.
            var examples = Examples;
            string truncated = Path.Combine(folder, "truncated.png");
            byte[] png = File.ReadAllBytes(examples[5].Sample.ImagePath);
            File.WriteAllBytes(truncated, png[..(png.Length / 2)]);
            string garbage = Path.Combine(folder, "garbage.png");
            File.WriteAllText(garbage, "not an image");
            examples[5] = examples[5] with { Image = AnatomyR1.TorchSharp.Policy.PolicyImage.FromFile(truncated) };
            examples[9] = examples[9] with { Image = AnatomyR1.TorchSharp.Policy.PolicyImage.FromFile(garbage) };
            using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
            var strict = Assert.Throws<InvalidDataException>(() => new GrpoSession(policy, examples, Small(steps: 1)));
            Assert.Contains("Training example 5", strict.Message);
            Assert.Contains("truncated.png", strict.Message);

            var lenient = Small(steps: 1);
            lenient.SkipInvalidImages = true;
            using var trainer = new GrpoSession(policy, examples, lenient);
            Assert.Equal(new[] { 5, 9 }, trainer.SkippedExamples.Select(s => s.Index));
            Assert.Contains("garbage.png", trainer.SkippedExamples[1].Reason);
            Assert.Equal(examples.Count - 2, trainer.Examples.Count);
            Assert.DoesNotContain(trainer.Examples, e => e.Image is not null);
            trainer.RunStep();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void InterruptedOrDamagedCheckpointsAreNeverLoaded()
    {
        string run = TempFolder();
        try
        {
            var o = Small(steps: 1);
            o.CheckpointEvery = 1;
            using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
            {
                using var trainer = new GrpoSession(policy, Examples, o, runFolder: run);
                trainer.Train();
            }

            string checkpoints = Path.Combine(run, GrpoSession.CheckpointsFolder);
            // What a process killed mid-save leaves behind: a staging folder, which is never taken for a checkpoint.
            Directory.CreateDirectory(Path.Combine(checkpoints, "checkpoint-7.partial-1234-abcd"));
            string latest = GrpoCheckpoint.Latest(checkpoints)!;
            Assert.EndsWith("checkpoint-1", latest);
            Assert.Equal(1, GrpoCheckpoint.Read(latest).Step);

            // A file damaged after the save is detected by its hash, and the error names it.
            string optimizer = Path.Combine(latest, GrpoCheckpoint.OptimizerFile);
            var bytes = File.ReadAllBytes(optimizer);
            bytes[^1] ^= 0xFF;
            File.WriteAllBytes(optimizer, bytes);
            var damaged = Assert.Throws<InvalidDataException>(() => GrpoCheckpoint.Read(latest));
            Assert.Contains(GrpoCheckpoint.OptimizerFile, damaged.Message);

            File.Delete(optimizer);
            var missing = Assert.Throws<InvalidDataException>(() => GrpoSession.Resume(latest, Examples, o, device: "cpu"));
            Assert.Contains("missing", missing.Message);
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void NonFiniteRewardsSkipTheStepAndStopTrainingAfterTheLimit()
    {
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        var before = Weights(policy);
        var o = Small(steps: 5);
        o.MaxConsecutiveNonFiniteSteps = 2;
        o.Rewards = new WeightedRewards().Add(new DelegateRewardFunction("broken", b => b.Completions.Select(_ => (float?)float.NaN).ToList()));
        using var trainer = new GrpoSession(policy, Examples, o);
        var first = trainer.RunStep();
        Assert.Equal(1, first["skipped_steps"]);
        Assert.True(double.IsNaN(first["reward"]));
        Assert.Equal(before, Weights(policy));
        var ex = Assert.Throws<GrpoTrainingException>(() => trainer.RunStep());
        Assert.Contains("MaxConsecutiveNonFiniteSteps", ex.Message);
        Assert.Equal(2, trainer.SkippedSteps);
    }

    [Fact]
    public void DynamicSamplingAndGpgReportWhatTheyDid()
    {
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        var o = Small(steps: 1);
        o.BatchSize = 4;
        o.DynamicSampling = true;
        o.MaxResamples = 2;
        o.Gpg = true;
        o.Beta = 0;
        o.LossType = GrpoLossType.Dapo;
        using var trainer = new GrpoSession(policy, Examples, o);
        Assert.Null(trainer.Reference);
        var m = trainer.RunStep();
        Assert.True(m["frac_reward_zero_std"] <= m["dynamic_sampling/frac_reward_zero_std_before"]);
        Assert.Equal(m["dynamic_sampling/frac_reward_zero_std_before"] - m["frac_reward_zero_std"], m["dynamic_sampling/resampled_groups"] / 4.0, 9);
        double zeroGroups = m["frac_reward_zero_std"] * 4;
        Assert.Equal(zeroGroups == 4 ? 0 : 4 / (4 - zeroGroups), m["gpg/alpha"], 9);
        Assert.False(m.TryGet("kl", out _));
    }

    internal static byte[] Weights(TinyVlmPolicy policy) =>
        SafeTensors.Serialize(policy.Model.state_dict(), new Dictionary<string, string>());

    private (List<GrpoStepMetrics> Metrics, byte[] Weights) RunFresh(GrpoOptions options)
    {
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        using var trainer = new GrpoSession(policy, Examples, options);
        return (trainer.Train().ToList(), Weights(policy));
    }

    internal static void AssertSameMetrics(IReadOnlyList<GrpoStepMetrics> expected, IReadOnlyList<GrpoStepMetrics> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Step, actual[i].Step);
            var a = expected[i].Values.Where(v => !Timings.Contains(v.Key)).ToList();
            var b = actual[i].Values.Where(v => !Timings.Contains(v.Key)).ToList();
            Assert.Equal(a.Select(v => v.Key), b.Select(v => v.Key));
            for (int k = 0; k < a.Count; k++)
            {
                Assert.True(a[k].Value.Equals(b[k].Value), $"step {expected[i].Step} {a[k].Key}: {a[k].Value} vs {b[k].Value}");
            }
        }
    }

    internal static string TempFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-grpo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        return folder;
    }

    private sealed class SyncProgress : IProgress<GrpoStepMetrics>
    {
        private readonly Action<GrpoStepMetrics> _report;

        public SyncProgress(Action<GrpoStepMetrics> report) => _report = report;

        public void Report(GrpoStepMetrics value) => _report(value);
    }
}
