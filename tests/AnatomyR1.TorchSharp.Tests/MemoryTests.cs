using System.Diagnostics;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Models.Tiny;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void ResidentMemoryStaysFlatOverTwoThousandGenerationSteps()
    {
        using var policy = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 8);
        using var pixels = rand(4, 3, 64, 64);
        using var prompts = policy.EncodePrompts(new[] { "What is the red anatomy?", "What anatomy is at the centre of the frame ?", "What is the top-left anatomy?", "There is a thing below the hook; what is it?" });
        var options = new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 50, Seed = 1 };
        long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            using var process = Process.GetCurrentProcess();
            process.Refresh();
            return process.WorkingSet64;
        }

        int steps = 0;
        long warm = 0;
        for (int run = 0; run < 40; run++)
        {
            using var result = policy.Generate(pixels, prompts, options with { Seed = run });
            steps += (int)result.Completions.Length;
            if (run == 9)
            {
                warm = Rss();
            }
        }

        long end = Rss();
        double growthMb = (end - warm) / 1e6;
        output.WriteLine($"{steps} decoding steps (16 sequences each); RSS after 10 runs {warm / 1e6:0.0} MB, after 40 runs {end / 1e6:0.0} MB, growth {growthMb:0.0} MB");
        Assert.True(steps >= 2000, $"only {steps} decoding steps ran");
        Assert.True(growthMb < 20, $"resident memory grew by {growthMb:0.0} MB over {steps} steps");
    }
}
