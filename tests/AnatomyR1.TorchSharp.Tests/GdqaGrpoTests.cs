using System.Collections.Concurrent;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>GDQA inside GRPO: groups spread over question forms exactly, rewards read each form, adaptive mode and resume.</summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class GdqaGrpoTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public GdqaGrpoTests(SmallSyntheticData data) => _data = data;

    [Theory]
    [InlineData(8, 4, new[] { 2, 2, 2, 2 })]
    [InlineData(8, 3, new[] { 3, 3, 2 })]
    [InlineData(5, 2, new[] { 3, 2 })]
    [InlineData(2, 4, new[] { 1, 1, 0, 0 })]
    [InlineData(7, 1, new[] { 7 })]
    public void GroupsSplitExactly(int g, int k, int[] expected)
    {
        Assert.Equal(expected, GroupSplit.Counts(g, k));
        Assert.Equal(g, GroupSplit.Counts(g, k).Sum());
    }

    [Fact]
    public void StaticGdqaSpreadsEachGroupOverItsFormsAndScoresEachForm()
    {
        var augmenter = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, VariantCount = 4, Seed = 1 });
        var examples = _data.Train.Take(12).Select(s => new GrpoExample(s) { Variants = augmenter.Augment(s).Variants.Select(v => v.ToSample(s)).ToList() }).ToList();
        Assert.All(examples, e => Assert.Equal(4, e.Variants!.Count));
        var seen = new ConcurrentQueue<VqaSample>();
        var rewards = WeightedRewards.Default().Add(DelegateRewardFunction.PerCompletion("probe", (_, row) =>
        {
            seen.Enqueue(row.Sample);
            return 0f;
        }), 0f);
        var o = new GrpoOptions
        {
            Steps = 2,
            BatchSize = 3,
            NumGenerations = 8,
            Beta = 0,
            Seed = 2,
            Rewards = rewards,
            Gdqa = new GdqaTrainingOptions(),
            Generation = new GenerationOptions { MaxNewTokens = 24 },
        };
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        using var trainer = new GrpoSession(policy, examples, o);
        var metrics = trainer.Train();
        Assert.All(metrics, m => Assert.Equal(1.0, m["gdqa/augmented_fraction"]));
        Assert.All(metrics, m => Assert.Equal(4.0, m["gdqa/forms_per_augmented_group"]));

        // Each group of 8 answers its 4 forms twice each, in order, and every form keeps the answer.
        var probed = seen.ToList();
        Assert.Equal(2 * 3 * 8, probed.Count);
        foreach (var group in probed.Chunk(8))
        {
            var forms = group.Select(s => s.Question + "|" + string.Join(",", s.Options)).ToList();
            Assert.Equal(4, forms.Distinct().Count());
            Assert.All(forms.Chunk(2), pair => Assert.Equal(pair[0], pair[1]));
            Assert.Single(group.Select(s => s.Options[s.CorrectIndex]).Distinct());
            var example = examples.Single(e => e.Variants!.Any(v => v.Question == group[0].Question && v.Options.SequenceEqual(group[0].Options)));
            Assert.Equal(example.Variants!.Select(v => v.Question), group.Where((_, i) => i % 2 == 0).Select(s => s.Question));
        }
    }

    [Fact]
    public void AdaptiveGdqaSpreadsOnlyAfterAZeroVarianceGroupAndResumesItsHistory()
    {
        var augmenter = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, VariantCount = 4, Seed = 1 });
        var examples = _data.Train.Take(6).Select(s => new GrpoExample(s) { Variants = augmenter.Augment(s).Variants.Select(v => v.ToSample(s)).ToList() }).ToList();
        GrpoOptions Options() => new()
        {
            Steps = 6, BatchSize = 3, NumGenerations = 4, Beta = 0, Seed = 4, WarmupSteps = 0, Generation = new GenerationOptions { MaxNewTokens = 24 },
            Gdqa = new GdqaTrainingOptions { Mode = GdqaMode.Adaptive }, CheckpointEvery = 3, KeepCheckpoints = 0,
        };
        string run = Path.Combine(Path.GetTempPath(), "anatomyr1-gdqa-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            List<GrpoStepMetrics> straight;
            using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
            using (var trainer = new GrpoSession(policy, examples, Options(), runFolder: run))
            {
                straight = trainer.Train().ToList();
            }

            Assert.Equal(0.0, straight[0]["gdqa/augmented_fraction"]);
            Assert.Contains(straight.Skip(1), m => m["gdqa/augmented_fraction"] > 0);

            // Over the first two steps every prompt is drawn once: a later group is spread only if that prompt's last group had zero variance.
            var checkpoint = GrpoCheckpoint.List(Path.Combine(run, GrpoSession.CheckpointsFolder))[0].Folder;
            Assert.True(File.Exists(Path.Combine(checkpoint, GrpoCheckpoint.GdqaStateFile)));
            using var resumed = GrpoSession.Resume(checkpoint, examples, Options(), device: "cpu");
            var rest = resumed.Train();
            Assert.Equal(straight.Skip(3).Select(m => m["gdqa/augmented_fraction"]), rest.Select(m => m["gdqa/augmented_fraction"]));
            Assert.Equal(straight.Skip(3).Select(m => m["reward"]), rest.Select(m => m["reward"]));

            var other = Options();
            other.Gdqa = new GdqaTrainingOptions { Mode = GdqaMode.Static };
            Assert.Contains("option gdqa", Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoint, examples, other, device: "cpu")).Message);
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void PipelineWithAugmentationFeedsTheTrainer()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(_data.Train);
        var grpo = ml.AnatomyR1().Grpo(new AnatomyR1.TorchSharp.Estimators.GrpoTrainerOptions
        {
            Grpo = new GrpoOptions { Steps = 1, BatchSize = 2, NumGenerations = 4, Beta = 0, Seed = 3, Gdqa = new GdqaTrainingOptions(), Generation = new GenerationOptions { MaxNewTokens = 16 } },
            Device = "cpu",
        });
        var model = ml.AnatomyR1().GroupDiversityAugment(variantCount: 2, difficulty: DifficultySelection.All).Append(grpo).Fit(train);
        Assert.Equal(1.0, grpo.History[0]["gdqa/augmented_fraction"]);
        Assert.Equal(2.0, grpo.History[0]["gdqa/forms_per_augmented_group"]);
        model.LastTransformer.Dispose();
    }
}
