using System.Text.Json;
using AnatomyR1.TorchSharp.Policy;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests.Generation;

/// <summary>
/// Generation samples exactly the completions that were recorded from the decoder before its fast paths existed
/// (preallocated KV cache, on-device end-of-sequence handling, sampling without host synchronisation): the same
/// token ids row by row, and the same log-probabilities to 1e-4, for greedy decoding, temperature, top-k, top-p,
/// separate and shared prefixes, and streaming, on the built-in policy and on the tiny Qwen2.5-VL preset.
/// The recording is <c>tests/fixtures/generation/completions.json</c>; setting <c>ANATOMYR1_RECORD_COMPLETIONS</c>
/// to the repository root rewrites it from the code under test (done once, with the recorded version's code).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RecordedCompletionsTests(ITestOutputHelper output)
{
    private const string FixtureName = "completions.json";

    /// <summary>The sampling settings recorded for every policy.</summary>
    public static readonly (string Name, GenerationOptions Options)[] Cases =
    {
        ("greedy", new GenerationOptions { NumReturnSequences = 1, MaxNewTokens = 40, Temperature = 0 }),
        ("t1", new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 40, Temperature = 1.0, Seed = 7 }),
        ("t1-separate", new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 40, Temperature = 1.0, Seed = 7, SharePrefix = false }),
        ("t0.8-topk20", new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 40, Temperature = 0.8, TopK = 20, Seed = 8 }),
        ("t1.2-topp0.9", new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 40, Temperature = 1.2, TopP = 0.9, Seed = 9 }),
        ("t1.5-short", new GenerationOptions { NumReturnSequences = 3, MaxNewTokens = 12, Temperature = 1.5, Seed = 10 }),
    };

    [Theory]
    [InlineData("built-in")]
    [InlineData("qwen-tiny")]
    public void GenerationMatchesTheRecording(string policyName)
    {
        var recorded = Record(policyName);
        string? root = Environment.GetEnvironmentVariable("ANATOMYR1_RECORD_COMPLETIONS");
        if (!string.IsNullOrEmpty(root))
        {
            string path = Path.Combine(root, "tests", "fixtures", "generation", FixtureName);
            var all = File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, RecordedCase>>>(File.ReadAllText(path))! : new();
            all[policyName] = recorded;
            File.WriteAllText(path, JsonSerializer.Serialize(all, new JsonSerializerOptions { WriteIndented = false }) + "\n");
            output.WriteLine($"recorded {policyName} into {path}");
            return;
        }

        var expected = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, RecordedCase>>>(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "generation", FixtureName)))![policyName];
        Assert.Equal(expected.Keys.Order(), recorded.Keys.Order());
        foreach (var (name, want) in expected)
        {
            var got = recorded[name];
            Assert.Equal(want.Ids.Length, got.Ids.Length);
            for (int r = 0; r < want.Ids.Length; r++)
            {
                Assert.True(want.Ids[r].SequenceEqual(got.Ids[r]), $"{policyName} {name} row {r}: [{string.Join(' ', got.Ids[r])}] instead of [{string.Join(' ', want.Ids[r])}]");
                Assert.True(Math.Abs(want.LogProbSums[r] - got.LogProbSums[r]) < 1e-4, $"{policyName} {name} row {r}: log-probability {got.LogProbSums[r]} instead of {want.LogProbSums[r]}");
            }

            Assert.Equal(want.Truncated, got.Truncated);
        }

        output.WriteLine($"{policyName}: {expected.Count} settings, {expected.Values.Sum(c => c.Ids.Sum(r => r.Length))} tokens as recorded");
    }

    private static Dictionary<string, RecordedCase> Record(string policyName)
    {
        using var data = new GenerationTestData(30, 5);
        var samples = data.Samples.Take(3).ToList();
        using var policy = GenerationTestData.Policy(policyName, qwenSeed: 3);
        var prepared = samples.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList();
        using var images = policy.ImageProcessor.Collate(prepared, policy.Device);
        using var prompts = GenerationTestData.Prompts(policy, samples);
        var result = new Dictionary<string, RecordedCase>();
        foreach (var (name, options) in Cases)
        {
            using var generated = policy.Generate(images, prompts, options);
            result[name] = RecordedCase.Of(generated);
        }

        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ANATOMYR1_RECORD_COMPLETIONS")))
        {
            // Settings that must not change what is sampled: one intra-op thread instead of the process's, and
            // end-of-sequence checks every 5 or 64 tokens instead of every token.
            foreach (var (name, options) in Cases)
            {
                foreach (var variant in new[] { options with { IntraOpThreads = 1 }, options with { EndCheckInterval = 5 }, options with { EndCheckInterval = 64 } })
                {
                    using var generated = policy.Generate(images, prompts, variant);
                    var again = RecordedCase.Of(generated);
                    var first = result[name];
                    for (int r = 0; r < first.Ids.Length; r++)
                    {
                        Assert.True(first.Ids[r].SequenceEqual(again.Ids[r]), $"{policyName} {name} with {variant.IntraOpThreads} thread(s), end check every {variant.EndCheckInterval}: row {r} differs");
                        Assert.True(Math.Abs(first.LogProbSums[r] - again.LogProbSums[r]) < 1e-4, $"{policyName} {name}: log-probability {again.LogProbSums[r]} vs {first.LogProbSums[r]}");
                    }

                    Assert.Equal(first.Truncated, again.Truncated);
                    Assert.Equal(generated.Completions.Length, first.Ids.Max(r => r.Length));
                }
            }
        }

        // Streaming: one prompt, one sequence, the callback sees every token.
        using var firstImage = policy.ImageProcessor.Collate(prepared.Take(1).ToList(), policy.Device);
        using var firstPrompt = policy.EncodePrompts(new[] { policy.FormatPrompt(samples[0]) });
        var streamed = new List<int>();
        using (var stream = policy.Generate(firstImage, firstPrompt, new GenerationOptions { MaxNewTokens = 40, Temperature = 1.0, Seed = 11 }, id => { streamed.Add(id); return true; }))
        {
            var one = RecordedCase.Of(stream);
            Assert.Equal(one.Ids[0], streamed.Take(one.Ids[0].Length).ToArray());
            result["streamed"] = one;
        }

        return result;
    }

    /// <summary>One setting's completions: ids without padding, per-row log-probability sums, truncation flags.</summary>
    public sealed record RecordedCase(int[][] Ids, double[] LogProbSums, bool[] Truncated)
    {
        /// <summary>Reads a generation result.</summary>
        public static RecordedCase Of(GenerationResult result)
        {
            long[] ids = result.Completions.Ids.cpu().data<long>().ToArray();
            long[] mask = result.Completions.Mask.cpu().data<long>().ToArray();
            float[] logProbs = result.LogProbs.cpu().data<float>().ToArray();
            int width = (int)result.Completions.Length;
            int rows = (int)result.Completions.Rows;
            var rowIds = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, width).Where(c => mask[(r * width) + c] != 0).Select(c => (int)ids[(r * width) + c]).ToArray()).ToArray();
            var sums = Enumerable.Range(0, rows).Select(r => Math.Round(Enumerable.Range(0, width).Sum(c => (double)logProbs[(r * width) + c]), 5)).ToArray();
            return new RecordedCase(rowIds, sums, result.Truncated.ToArray());
        }
    }
}
