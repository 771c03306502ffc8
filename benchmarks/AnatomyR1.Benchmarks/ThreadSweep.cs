using System.Diagnostics;
using System.Globalization;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// Rollout time (B = 4 × G = 8, 64 new tokens, temperature 1) per intra-op thread count, for the built-in policy and
/// the tiny Qwen2.5-VL preset, thread counts interleaved run by run; prints medians. The measurement behind the
/// default of <see cref="GenerationOptions.IntraOpThreads"/>. Run with
/// <c>dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- thread-sweep [runs]</c>.
/// </summary>
public static class ThreadSweep
{
    /// <summary>Runs the sweep.</summary>
    /// <param name="runs">Measured runs per setting (after one warm-up run).</param>
    /// <param name="log">Where to write.</param>
    /// <returns>The exit code.</returns>
    public static int Run(int runs, TextWriter log)
    {
        TorchRuntime.EnsureThreads();
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-threads-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 40, Seed = 3 });
        try
        {
            var samples = VqaDataLoader.Load(Path.Combine(folder, "train.json")).Samples.Take(4).ToList();
            int cores = Environment.ProcessorCount;
            var counts = Enumerable.Range(1, cores).ToArray();
            log.WriteLine($"Rollouts, B = 4 × G = 8, 64 new tokens, temperature 1; median of {runs} runs per thread count (ms), counts interleaved:");
            log.WriteLine("| policy | " + string.Join(" | ", counts.Select(c => $"{c} thread{(c > 1 ? "s" : "")}")) + " |");
            log.WriteLine("|---|" + string.Concat(counts.Select(_ => "---:|")));
            foreach (string name in new[] { "built-in", QwenPresets.Tiny })
            {
                using var policy = name == "built-in" ? BuiltInPolicy.Load("cpu") : PolicyRegistry.Create(name, "cpu", 1);
                using var images = policy.ImageProcessor.Collate(samples.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList(), policy.Device);
                using var prompts = policy.EncodePrompts(samples.Select(s => policy.FormatPrompt(s)).ToList());
                var times = counts.ToDictionary(c => c, _ => new List<double>());
                for (int run = 0; run <= runs; run++)
                {
                    foreach (int c in counts)
                    {
                        var clock = Stopwatch.StartNew();
                        using var result = policy.Generate(images, prompts, new GenerationOptions { NumReturnSequences = 8, MaxNewTokens = 64, Seed = run, IntraOpThreads = c });
                        if (run > 0)
                        {
                            times[c].Add(clock.Elapsed.TotalMilliseconds);
                        }
                    }
                }

                log.WriteLine($"| {name} | " + string.Join(" | ", counts.Select(c => times[c].Order().ElementAt(times[c].Count / 2).ToString("F1", CultureInfo.InvariantCulture))) + " |");
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
