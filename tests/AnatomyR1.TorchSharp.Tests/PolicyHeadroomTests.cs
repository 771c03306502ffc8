using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Sampled accuracy, maj@k and pass@k of the built-in policy on a small synthetic split.</summary>
[Collection(TorchCollection.Name)]
public sealed class PolicyHeadroomTests
{
    [Fact]
    public void Headroom_metrics_are_ordered_reproducible_and_one_sample_agrees_with_itself()
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-headroom-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 24, Seed = 77, TrainFraction = 0, ValidationFraction = 0 });
            var samples = VqaDataLoader.Load(Path.Combine(folder, "test.json")).Samples;
            using var policy = BuiltInPolicy.Load("cpu");
            var h = PolicyHeadroom.Run(policy, samples, k: 6, seed: 3, maxNewTokens: 64);
            Assert.Equal((24, 6), (h.Count, h.K));
            Assert.True(h.PassAtK >= h.MajorityAccuracy && h.PassAtK >= h.SampledAccuracy, h.ToString());
            Assert.True(h.PassAtK > 0 && h.SampledAccuracy < 1, h.ToString());
            Assert.Equal(h.MajorityAccuracy, h.MajorityCorrect.Count(c => c) / 24.0, 12);
            Assert.Equal(h, PolicyHeadroom.Run(policy, samples, k: 6, seed: 3, maxNewTokens: 64) with { MajorityCorrect = h.MajorityCorrect });

            // With one sample per question, the sample, its majority and pass@1 are the same thing.
            var one = PolicyHeadroom.Run(policy, samples, k: 1, seed: 3, maxNewTokens: 64);
            Assert.Equal(one.SampledAccuracy, one.MajorityAccuracy, 12);
            Assert.Equal(one.SampledAccuracy, one.PassAtK, 12);
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
