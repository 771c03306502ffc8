using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// GRPO is tested by learning: a short run on small synthetic data must raise held-out accuracy by at least three
/// standard errors of the held-out estimate, from a policy whose answers depend on the image.
/// </summary>
/// <remarks>
/// <para>Split. 4,000 synthetic scenes with seed 11 (the built-in checkpoint was trained on seed 1): GRPO trains on
/// the 3,200-record train split; the 800 validation and test records are held out and decoded greedily.</para>
/// <para>Starting checkpoint. GRPO from the built-in warm start as it is moves greedy accuracy too slowly for a
/// test of a few minutes (docs/grpo.md), so the test first gives it a realistic, reward-fixable flaw: 120 supervised
/// steps on traces whose answer step was replaced by "option A" in 60% of examples (the letter bias a skewed
/// fine-tuning set leaves behind). Its reasoning still reads the image; which letter is right depends on the image
/// and the options, and only the rewards (accuracy + format + consistency) tell GRPO which letters were right.
/// Measured: accuracy 30.6% → 39.6% (3 SE = 4.9 points), answers following the reasoning 33.8% → 85.6%, and 32.6%
/// accuracy when every question is paired with another scene's image.</para>
/// </remarks>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class GrpoLearningTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _folder;
    private readonly IReadOnlyList<VqaSample> _train;
    private readonly List<VqaSample> _heldOut;

    public GrpoLearningTests(ITestOutputHelper output)
    {
        _output = output;
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-grpo-learn-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 4000, Seed = 11 });
        _train = VqaDataLoader.Load(Path.Combine(_folder, "train.json")).Samples;
        _heldOut = VqaDataLoader.Load(Path.Combine(_folder, "val.json")).Samples.Concat(VqaDataLoader.Load(Path.Combine(_folder, "test.json")).Samples).ToList();
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ShortGrpoRunRaisesHeldOutAccuracyByThreeStandardErrors()
    {
        // Starting point: the built-in warm start with a letter bias added (the answer step replaced by "option A" in
        // 60% of 120 supervised steps), so its reasoning still reads the image but its answers often do not follow it.
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        SupervisedTrainer.Train(policy, LetterBiased(_train), new SupervisedOptions
        {
            Steps = 120, BatchSize = 16, LearningRate = 3e-4, VisionLearningRate = 3e-4, DrillFraction = 0, WarmupSteps = 5, FinalLearningRateFraction = 1, Seed = 1,
        });
        var before = PolicyEvaluation.Run(policy, _heldOut);
        var options = new GrpoOptions
        {
            Steps = 80, BatchSize = 8, NumGenerations = 8, LearningRate = 1e-4, VisionLearningRate = 1e-4, Beta = 0.04, Seed = 0,
            Rewards = WeightedRewards.Default(AnswerExtractionStrategy.TagLetter).Add(new ConsistencyReward(), 1f),
        };
        List<GrpoStepMetrics> history;
        using (var trainer = new GrpoSession(policy, _train.Select(s => new GrpoExample(s)).ToList(), options))
        {
            history = trainer.Train().ToList();
        }

        var after = PolicyEvaluation.Run(policy, _heldOut);
        double se = Math.Sqrt(before.Accuracy * (1 - before.Accuracy) / _heldOut.Count);
        double consistencyBefore = Consistency(before), consistencyAfter = Consistency(after);
        double seConsistency = Math.Sqrt(consistencyBefore * (1 - consistencyBefore) / _heldOut.Count);
        _output.WriteLine($"before: {before.Summary()}; answers follow the reasoning {consistencyBefore:P1}");
        _output.WriteLine($"after:  {after.Summary()}; answers follow the reasoning {consistencyAfter:P1}");
        _output.WriteLine($"accuracy gain {100 * (after.Accuracy - before.Accuracy):F1} points (3 SE = {300 * se:F1})");
        Assert.True(after.Accuracy - before.Accuracy >= 3 * se, $"held-out accuracy {before.Accuracy:P1} → {after.Accuracy:P1}; needed 3 SE = {3 * se:P1}");
        Assert.True(consistencyAfter - consistencyBefore >= 3 * seConsistency,
            $"answers following the reasoning {consistencyBefore:P1} → {consistencyAfter:P1}; needed 3 SE = {3 * seConsistency:P1}");
        Assert.True(history.Skip(60).Average(m => m["reward"]) > history.Take(20).Average(m => m["reward"]), "the training reward should rise as well");

        // The answers depend on the image: pairing each question with another scene's image costs accuracy.
        var mismatched = MismatchedImages.Of(_heldOut);
        var blind = PolicyEvaluation.Run(policy, mismatched);
        _output.WriteLine($"another scene's image: {blind.Summary()}");
        Assert.True(blind.Accuracy < after.Accuracy - (3 * se), $"with another scene's image {blind.Accuracy:P1} vs {after.Accuracy:P1}");
    }

    private double Consistency(PolicyEvaluation evaluation)
    {
        var rows = _heldOut.Select(s => new RewardRow(s)).ToList();
        var scores = new ConsistencyReward().Score(new RewardBatch(evaluation.Completions, rows));
        return scores.Average(v => (double)v!.Value);
    }

    private static List<SupervisedExample> LetterBiased(IReadOnlyList<VqaSample> train)
    {
        var random = new Random(1);
        return train.Where(s => s.TargetCompletion.Length > 0).Select(s =>
        {
            string target = s.TargetCompletion;
            if (random.NextDouble() < 0.6)
            {
                char right = s.CorrectLetter[0];
                target = target.Replace($"option {right} </think> <answer>{right}</answer>", "option A </think> <answer>A</answer>", StringComparison.Ordinal);
            }

            return new SupervisedExample(s.ImagePath, s.Question, s.Options, target);
        }).ToList();
    }
}
