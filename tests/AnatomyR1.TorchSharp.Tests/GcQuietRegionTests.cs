using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The process-wide no-GC region stays held while any block on any thread is inside it.</summary>
[Collection(TorchCollection.Name)]
public sealed class GcQuietRegionTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public GcQuietRegionTests(SmallSyntheticData data) => _data = data;

    [Fact]
    public void The_region_ends_only_when_the_last_block_on_any_thread_leaves()
    {
        Assert.Equal(0, GcQuietRegion.ActiveBlocks);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        bool heldInB = false;
        var first = GcQuietRegion.Enter();
        Assert.True(GcQuietRegion.IsHeld);
        var b = new Thread(() =>
        {
            using (GcQuietRegion.Enter())
            {
                entered.Set();
                release.Wait();
                heldInB = GcQuietRegion.IsHeld;
            }
        });
        b.Start();
        entered.Wait();
        Assert.Equal(2, GcQuietRegion.ActiveBlocks);

        // The block that started the region leaves first: the other is still inside, so the region holds.
        first.Dispose();
        Assert.True(GcQuietRegion.IsHeld);
        Assert.Equal(1, GcQuietRegion.ActiveBlocks);
        release.Set();
        b.Join();
        Assert.True(heldInB, "the region ended while the second thread was still inside it");
        Assert.Equal(0, GcQuietRegion.ActiveBlocks);
        Assert.False(GcQuietRegion.IsHeld);
        first.Dispose();
        Assert.Equal(0, GcQuietRegion.ActiveBlocks);
    }

    [Fact]
    public void Two_policies_generating_on_two_threads_sample_what_each_samples_alone_without_a_region()
    {
        // Generation needs no no-GC region (it passes no temporary scalar to libtorch): two policies decoding at the
        // same time on two threads, while neither holds a region, sample exactly what each samples alone.
        var sample = _data.Train[0];
        int tokens = 0, guarded = 0;
        var errors = new List<Exception>();
        using var start = new Barrier(2);
        var alone = new Dictionary<long, List<string>>();
        var together = new Dictionary<long, List<string>>();
        void Generate(long seed, Dictionary<long, List<string>> into, Barrier? barrier)
        {
            try
            {
                using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
                using var images = policy.ImageProcessor.Collate(new[] { policy.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath)) }, policy.Device);
                using var prompts = policy.EncodePrompts(new[] { policy.FormatPrompt(sample.Question, sample.Options) });
                barrier?.SignalAndWait();
                var texts = new List<string>();
                for (int i = 0; i < 12; i++)
                {
                    using var result = policy.Generate(images, prompts, new GenerationOptions { MaxNewTokens = 24, Temperature = 1.5, Seed = seed + i }, _ =>
                    {
                        Interlocked.Increment(ref tokens);
                        if (GcQuietRegion.IsHeld)
                        {
                            Interlocked.Increment(ref guarded);
                        }

                        return true;
                    });
                    texts.Add(result.Texts[0]);
                }

                lock (into)
                {
                    into[seed] = texts;
                }
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            }
        }

        Generate(1, alone, null);
        Generate(100, alone, null);
        var threads = new[] { new Thread(() => Generate(1, together, start)), new Thread(() => Generate(100, together, start)) };
        foreach (var t in threads)
        {
            t.Start();
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        Assert.Empty(errors);
        Assert.True(tokens > 200, $"only {tokens} tokens generated");
        Assert.Equal(0, guarded);
        Assert.Equal(alone[1], together[1]);
        Assert.Equal(alone[100], together[100]);
        Assert.Equal(0, GcQuietRegion.ActiveBlocks);
    }
}
