using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests.Generation;

/// <summary>
/// Generation runs without a no-GC region and is unaffected by garbage collections: while another thread collects and
/// runs finalizers as fast as it can, every generation samples exactly the completions of a quiet run. (A temporary
/// libtorch scalar left to the finalizer could be freed while libtorch reads it; decoding passes none.)
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class CollectionDuringGenerationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("built-in")]
    [InlineData("qwen-tiny")]
    public void CompletionsDoNotChangeWhileTheCollectorRunsConstantly(string policyName)
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-gc-storm-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 12, Seed = 4, TrainFraction = 1, ValidationFraction = 0 });
            var samples = VqaDataLoader.Load(Path.Combine(folder, "train.json")).Samples.Take(4).ToList();
            using var policy = policyName == "built-in" ? BuiltInPolicy.Load("cpu") : PolicyRegistry.Create(QwenPresets.Tiny, "cpu", seed: 2);
            using var images = policy.ImageProcessor.Collate(samples.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList(), policy.Device);
            using var prompts = policy.EncodePrompts(samples.Select(s => policy.FormatPrompt(s)).ToList());
            var options = new GenerationOptions { NumReturnSequences = 8, MaxNewTokens = 48, Temperature = 1.0, TopK = 50, TopP = 0.95, Seed = 21 };
            long[] Run()
            {
                using var result = policy.Generate(images, prompts, options);
                return result.Completions.Ids.data<long>().ToArray();
            }

            var quiet = Run();
            bool heldDuringStreaming = false;
            using (var one = policy.ImageProcessor.Collate(new[] { policy.ImageProcessor.Prepare(PolicyImage.FromFile(samples[0].ImagePath)) }, policy.Device))
            using (var first = policy.EncodePrompts(new[] { policy.FormatPrompt(samples[0]) }))
            using (policy.Generate(one, first, new GenerationOptions { MaxNewTokens = 8, Seed = 1 }, _ => { heldDuringStreaming |= GcQuietRegion.IsHeld; return true; }))
            {
            }

            Assert.False(heldDuringStreaming, "generation entered a no-GC region");

            using var stop = new CancellationTokenSource();
            int collections = 0;
            var storm = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Interlocked.Increment(ref collections);
                }
            }) { IsBackground = true };
            storm.Start();
            try
            {
                for (int run = 0; run < 3; run++)
                {
                    Assert.Equal(quiet, Run());
                }
            }
            finally
            {
                stop.Cancel();
                storm.Join();
            }

            output.WriteLine($"{policyName}: 3 generations of {quiet.Length} tokens each equal the quiet run across {collections} forced collections");
            Assert.True(collections >= 10, $"only {collections} collections ran during generation");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
