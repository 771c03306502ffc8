using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// GRPO is tested by learning: a short run must raise held-out accuracy by at least three standard errors.
/// </summary>
/// <remarks>
/// <para>Starting checkpoint. The built-in warm start is not used as is: GRPO from it does not move greedy held-out
/// accuracy within minutes (measured: 39.0% → 40.1% after 30 steps of 32 × 8 rollouts, in line with the design
/// guide's prototype evidence), so it cannot carry a test that must finish in under three minutes. Instead the test
/// gives the warm start a realistic, reward-fixable flaw: 120 supervised steps on traces whose final lookup was
/// replaced by "option A" in 60% of examples (the letter bias a skewed fine-tuning set leaves behind). The
/// reasoning still reads the image, so which letter is right depends on the image and the options; only the
/// rewards tell GRPO which letters were right. No answer or label reaches GRPO except through the accuracy reward.</para>
/// <para>Split. 4,000 synthetic scenes with seed 11 (the checkpoint was trained on seed 1): GRPO trains on the
/// 3,200-record train split and accuracy is measured greedily on the 800 validation and test records, so the
/// standard error of a held-out accuracy near 26% is about 1.55 points and the required gain about 4.7 points.
/// Measured on this machine kind: 26.0% → 36.9% after 60 steps.</para>
/// </remarks>
[Collection(TorchCollection.Name)]
public sealed class GrpoLearningTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _folder;

    public GrpoLearningTests(ITestOutputHelper output)
    {
        _output = output;
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-grpo-learn-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 4000, Seed = 11 });
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ShortGrpoRunRaisesHeldOutAccuracyByThreeStandardErrors()
    {
        var train = VqaDataLoader.Load(Path.Combine(_folder, "train.json")).Samples;
        var heldOut = VqaDataLoader.Load(Path.Combine(_folder, "val.json")).Samples.Concat(VqaDataLoader.Load(Path.Combine(_folder, "test.json")).Samples).ToList();
        using var policy = BuiltInPolicy.Load("cpu");
        SupervisedTrainer.Train(policy, LetterBiased(train), new SupervisedOptions
        {
            Steps = 120, BatchSize = 16, LearningRate = 3e-4, VisionLearningRate = 3e-4, DrillFraction = 0, WarmupSteps = 5, FinalLearningRateFraction = 1, Seed = 1,
        });
        var before = PolicyEvaluation.Run(policy, heldOut);

        var options = new GrpoOptions { Steps = 60, BatchSize = 8, NumGenerations = 8, LearningRate = 1e-4, VisionLearningRate = 1e-4, Beta = 0.04, Seed = 0 };
        List<GrpoStepMetrics> history;
        using (var trainer = new GrpoTrainer(policy, train.Select(s => new GrpoExample(s)).ToList(), options))
        {
            history = trainer.Train().ToList();
        }

        var after = PolicyEvaluation.Run(policy, heldOut);
        double se = Math.Sqrt(before.Accuracy * (1 - before.Accuracy) / heldOut.Count);
        _output.WriteLine($"before: {before.Summary()}");
        _output.WriteLine($"after:  {after.Summary()}");
        _output.WriteLine($"gain {100 * (after.Accuracy - before.Accuracy):F1} points; 3 SE = {300 * se:F1} points");
        Assert.True(after.Accuracy - before.Accuracy >= 3 * se,
            $"held-out accuracy {before.Accuracy:P1} → {after.Accuracy:P1} (n = {heldOut.Count}); needed a gain of 3 SE = {3 * se:P1}");

        // The gain comes from the lookup the rewards corrected, not from guessing: the trained policy's answers still
        // depend on the image (pairing each question with another scene's image costs most of its accuracy).
        var mismatched = heldOut.Select((s, i) => WithImage(s, heldOut[(i + 1) % heldOut.Count].ImagePath)).Take(400).ToList();
        var blind = PolicyEvaluation.Run(policy, mismatched);
        _output.WriteLine($"with another scene's image: {blind.Summary()}");
        Assert.True(blind.Accuracy < after.Accuracy - 0.05, $"accuracy with mismatched images {blind.Accuracy:P1} vs {after.Accuracy:P1} with the right ones");
        Assert.True(history.Skip(40).Average(m => m["rewards/accuracy/mean"]) > history.Take(20).Average(m => m["rewards/accuracy/mean"]),
            "the training reward should rise as well");
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
