using System.Diagnostics;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Memory;

/// <summary>A measurement, run on request only: set ANATOMYR1_MEASURE_MEMORY=1 (it needs several GB of memory).</summary>
public sealed class MeasurementFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public MeasurementFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ANATOMYR1_MEASURE_MEMORY") != "1")
        {
            Skip = "A memory measurement: set ANATOMYR1_MEASURE_MEMORY=1 to run it (Linux; needs about 8 GB).";
        }
    }
}

/// <summary>
/// Peak resident memory of one update pass (scores, loss, backward) of a tiny Qwen2.5-VL with the full 151,936-token
/// vocabulary over 2,048 completion tokens, with the full logits and chunked. The peak is VmHWM from /proc/self/status
/// after resetting it by writing 5 to /proc/self/clear_refs; reported relative to the resident size before the pass.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class UpdatePassMemoryMeasurement(ITestOutputHelper output)
{
    private static QwenVLConfig LargeVocabulary(bool tied) => new()
    {
        Text = new QwenTextConfig { VocabSize = 151_936, HiddenSize = 64, IntermediateSize = 128, Layers = 2, Heads = 4, KeyValueHeads = 2, MropeSection = new[] { 2, 2, 4 }, MaxPositionEmbeddings = 8192 },
        Vision = new QwenVisionConfig { Depth = 2, HiddenSize = 32, IntermediateSize = 64, Heads = 2, OutHiddenSize = 64, FullAttentionBlocks = new[] { 1 } },
        TieWordEmbeddings = tied,
        ImageTokenId = 1012,
        VideoTokenId = 1013,
        VisionStartTokenId = 1009,
        VisionEndTokenId = 1010,
        EosTokenId = 1002,
        PadTokenId = 1000,
    };

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static long StatusKb(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {field}.");
    }

    [MeasurementFact]
    public void Peak_memory_of_one_update_pass_with_and_without_chunking()
    {
        Assert.True(OperatingSystem.IsLinux(), "VmHWM and clear_refs are Linux interfaces.");
        using var policy = QwenMemoryFixtures.Create(LargeVocabulary(tied: true), seed: 1);
        policy.SetTraining(true);
        using var images = QwenMemoryFixtures.Images(policy, "img_56x56.png", "img_56x56.png");
        var prompt = policy.FormatPrompt("Which anatomy is above the grasper?", new[] { "Liver", "Gut" });
        using var prompts = policy.EncodePrompts(new[] { prompt, prompt });
        var random = new Random(3);
        var rows = Enumerable.Range(0, 2).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, 1024).Select(_ => random.Next(0, 1000)).ToList()).ToList();
        using var completions = TokenBatch.RightPadded(rows, policy.PadId, policy.Device);
        using var advantages = randn(2, 1, generator: new Generator(2));
        var full = new DelegatingPolicy(policy);

        (double PeakMb, double Seconds, double Check) Pass(IVisionLanguagePolicy scorer, int chunk, bool checkpointing)
        {
            policy.LogProbChunkSize = chunk;
            policy.GradientCheckpointing = checkpointing;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            File.WriteAllText("/proc/self/clear_refs", "5");
            long before = StatusKb("VmRSS");
            var clock = Stopwatch.StartNew();
            double check;
            using (var scope = NewDisposeScope())
            {
                var (logProbs, entropy) = scorer.CompletionLogProbsAndEntropy(images, prompts, completions, temperature: 0.9);
                var loss = -(logProbs * advantages).sum() / completions.Mask.sum();
                loss.backward();
                check = loss.item<float>() + entropy.sum().item<float>();
            }

            double seconds = clock.Elapsed.TotalSeconds;
            long peak = StatusKb("VmHWM");
            foreach (var p in policy.Model.parameters())
            {
                p.grad = null;
            }

            return ((peak - before) / 1024.0, seconds, check);
        }

        Pass(policy, 1024, false);
        var results = new List<(string Name, double PeakMb, double Seconds, double Check)>();
        foreach (var (name, scorer, chunk, checkpointing) in new (string, IVisionLanguagePolicy, int, bool)[]
        {
            ("full logits (interface default)", full, 1024, false),
            ("chunked, 1024 positions", policy, 1024, false),
            ("chunked, 256 positions", policy, 256, false),
            ("chunked, 256 positions + checkpointing", policy, 256, true),
            ("full logits again", full, 1024, false),
        })
        {
            var (peak, seconds, check) = Pass(scorer, chunk, checkpointing);
            results.Add((name, peak, seconds, check));
            output.WriteLine($"{name,-42} peak above baseline {peak,8:F0} MB   {seconds,6:F2} s   (loss + entropy sum {check:F4})");
        }

        output.WriteLine($"[N = 2048 completion tokens, V = 151,936, d = 64, float32; the full [N, V] logits are {2048.0 * 151_936 * 4 / (1 << 20):F0} MB]");
        Assert.True(results[1].PeakMb < results[0].PeakMb, "chunking did not lower the peak");
        Assert.True(Math.Abs(results[1].Check - results[0].Check) < 1e-2 * Math.Max(1, Math.Abs(results[0].Check)));
    }

    [MeasurementFact]
    public void Activation_memory_per_token_full_and_lora_with_and_without_checkpointing()
    {
        // A decoder wide and deep enough for activations to dominate: width 512, 8 layers, SwiGLU 1,408, a small
        // vocabulary (chunked scoring keeps the logits out of the picture). 4 rows × 512 completion tokens.
        Assert.True(OperatingSystem.IsLinux(), "VmHWM and clear_refs are Linux interfaces.");
        var config = new QwenVLConfig
        {
            Text = new QwenTextConfig { VocabSize = 1024, HiddenSize = 512, IntermediateSize = 1408, Layers = 8, Heads = 8, KeyValueHeads = 2, MropeSection = new[] { 8, 12, 12 }, MaxPositionEmbeddings = 8192 },
            Vision = new QwenVisionConfig { Depth = 2, HiddenSize = 32, IntermediateSize = 64, Heads = 2, OutHiddenSize = 512, FullAttentionBlocks = new[] { 1 } },
            TieWordEmbeddings = true, ImageTokenId = 1012, VideoTokenId = 1013, VisionStartTokenId = 1009, VisionEndTokenId = 1010, EosTokenId = 1002, PadTokenId = 1000,
        };
        using var policy = QwenMemoryFixtures.Create(config, seed: 1);
        policy.SetTraining(true);
        const int Rows = 4, Length = 512;
        using var images = QwenMemoryFixtures.Images(policy, Enumerable.Repeat("img_56x56.png", Rows).ToArray());
        var prompt = policy.FormatPrompt("Which anatomy is above the grasper?", new[] { "Liver", "Gut" });
        using var prompts = policy.EncodePrompts(Enumerable.Repeat(prompt, Rows).ToList());
        var random = new Random(3);
        var rows = Enumerable.Range(0, Rows).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, Length).Select(_ => random.Next(0, 1000)).ToList()).ToList();
        using var completions = TokenBatch.RightPadded(rows, policy.PadId, policy.Device);
        long tokens = Rows * (prompts.Ids.shape[1] + 4 + Length);

        double Pass(bool checkpointing)
        {
            policy.GradientCheckpointing = checkpointing;
            GC.Collect();
            GC.WaitForPendingFinalizers();

            // Hand the heap's free pages back to the system, so that the peak counts this pass's memory and not pages an
            // earlier pass left resident.
            MallocTrim(0);
            File.WriteAllText("/proc/self/clear_refs", "5");
            long before = StatusKb("VmRSS");
            using (var scope = NewDisposeScope())
            {
                var (logProbs, _) = policy.CompletionLogProbsAndEntropy(images, prompts, completions);
                logProbs.sum().backward();
            }

            long peak = StatusKb("VmHWM");
            foreach (var p in policy.Model.parameters())
            {
                p.grad = null;
            }

            return (peak - before) / 1024.0;
        }

        Pass(false);
        var full = (Plain: Pass(false), Checkpointed: Pass(true));
        using (var adapters = AnatomyR1.TorchSharp.Lora.LoraAdapters.Attach(policy.Model, new AnatomyR1.TorchSharp.Lora.LoraOptions { Rank = 16, Dropout = 0 }, seed: 1))
        {
            Pass(false);
            var lora = (Plain: Pass(false), Checkpointed: Pass(true));
            foreach (var (name, mb) in new[] { ("full, stored activations", full.Plain), ("full, checkpointed", full.Checkpointed), ("LoRA r = 16, stored", lora.Plain), ("LoRA r = 16, checkpointed", lora.Checkpointed) })
            {
                output.WriteLine($"{name,-28} peak above baseline {mb,7:F0} MB = {mb * 1024 / tokens / config.Text.Layers,6:F2} KB per token per layer");
            }

            output.WriteLine($"[{tokens} sequence positions, width 512, 8 layers, float32; weights {config.ParameterCount * 4 / 1e6:F0} MB]");
            Assert.True(full.Checkpointed < full.Plain, "checkpointing did not lower the peak");
            Assert.True(lora.Checkpointed < lora.Plain, "checkpointing did not lower the LoRA peak");
        }
    }
}
