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
        using var data = new GenerationTestData(12, 4);
        var samples = data.Samples.Take(4).ToList();
        using var policy = GenerationTestData.Policy(policyName, qwenSeed: 2);
        using var images = GenerationTestData.Images(policy, samples);
        using var prompts = GenerationTestData.Prompts(policy, samples);
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
}
