using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The committed warm-started checkpoint does what the docs say, on a fresh synthetic split it never saw.</summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BuiltInCheckpointTests(ITestOutputHelper output)
{
    [Fact]
    public void CheckpointWritesTheFormatAndAnswersFromTheImage()
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-fresh-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // Seed 1234 is not the seed the checkpoint was trained on.
            SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 200, Seed = 1234, TrainFraction = 0, ValidationFraction = 0 });
            var samples = VqaDataLoader.Load(Path.Combine(folder, "test.json")).Samples;
            using var policy = BuiltInPolicy.Load("cpu");
            var evaluation = PolicyEvaluation.Run(policy, samples);
            output.WriteLine(evaluation.Summary());
            Assert.Equal(200, evaluation.Count);
            Assert.True(evaluation.FormatCompliance >= 0.95, evaluation.Summary());
            Assert.InRange(evaluation.Accuracy, 0.33, 0.9);

            // The answers depend on the image: with each question paired with another scene's image the trace names
            // the right anatomy far less often.
            var mismatched = MismatchedImages.Of(samples);
            var blind = PolicyEvaluation.Run(policy, mismatched);
            output.WriteLine("another scene's image: " + blind.Summary());
            Assert.True(blind.TraceNamesAnswer < evaluation.TraceNamesAnswer - 0.1, $"{blind.TraceNamesAnswer:P1} vs {evaluation.TraceNamesAnswer:P1}");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
