using System.Globalization;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// The GRPO step's phases (generation, reward, reference pass, update) of this checkout and the baseline build
/// (<see cref="LibraryVersions"/>) in one process, steps interleaved (baseline, current, baseline, …) so that both
/// see the same machine state; prints the median of each phase and the ratio. Run with
/// <c>ANATOMYR1_BASELINE=DIR dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- phase-breakdown [built-in|qwen-tiny] [steps]</c>.
/// </summary>
public static class PhaseBreakdown
{
    private static readonly string[] Phases = { "step_time", "time/generation", "time/reward", "time/reference_logprobs", "time/backward" };

    /// <summary>
    /// Times rollouts of one version alone in this process (the driver's 8 prompt batches of four training questions from the benchmarks'
    /// 400-question set, one seed per run); prints the median.
    /// </summary>
    /// <param name="version">current or baseline.</param>
    /// <param name="policyName">built-in or qwen-tiny.</param>
    /// <param name="runs">Measured runs (after one warm-up run).</param>
    /// <param name="log">Where to write.</param>
    /// <returns>The exit code.</returns>
    public static int RolloutsAlone(string version, string policyName, int runs, TextWriter log)
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-solo-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 400, Seed = 3 });
        try
        {
            using var workloads = LibraryVersions.Create(version, policyName == "built-in" ? BuiltInPolicy.Folder() : policyName, Path.Combine(folder, "train.json"), 4, 8, 64, 0.04);
            var times = new List<double>();
            long tokens = 0;
            for (int i = 0; i <= runs; i++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var rows = workloads.Generate(11 + i);
                if (i > 0)
                {
                    times.Add(clock.Elapsed.TotalMilliseconds);
                    tokens += rows.Sum(r => (long)r.Length);
                }
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{version} {policyName}: rollouts median {times.Order().ElementAt(runs / 2):F1} ms over {runs} runs ({tokens / runs} tokens per run)"));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Runs the comparison.</summary>
    /// <param name="policyName">built-in or qwen-tiny.</param>
    /// <param name="steps">Measured steps per version (after two warm-up steps).</param>
    /// <param name="log">Where to write.</param>
    /// <returns>The exit code.</returns>
    public static int Run(string policyName, int steps, TextWriter log)
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-phases-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(folder, new SyntheticDatasetOptions { Count = 400, Seed = 3 });
        try
        {
            string policy = policyName == "built-in" ? BuiltInPolicy.Folder() : policyName;
            string train = Path.Combine(folder, "train.json");
            using var baseline = LibraryVersions.Create("baseline", policy, train, 4, 8, 64, 0.04);
            using var current = LibraryVersions.Create("current", policy, train, 4, 8, 64, 0.04);
            var samples = new Dictionary<string, List<Dictionary<string, double>>> { ["baseline"] = new(), ["current"] = new() };
            for (int i = 0; i < steps + 2; i++)
            {
                var b = baseline.GrpoStep();
                var c = current.GrpoStep();
                if (i >= 2)
                {
                    samples["baseline"].Add(b);
                    samples["current"].Add(c);
                }
            }

            double Median(string version, string phase)
            {
                var values = samples[version].Select(m => m.TryGetValue(phase, out double v) ? v : double.NaN).Order().ToList();
                return 1000 * values[values.Count / 2];
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GRPO step phases, {policyName}, B = 4 × G = 8, 64 new tokens, β = 0.04; medians of {steps} interleaved steps per version (ms):"));
            log.WriteLine("| phase | baseline | current | baseline / current |");
            log.WriteLine("|---|---:|---:|---:|");
            foreach (string phase in Phases)
            {
                double b = Median("baseline", phase), c = Median("current", phase);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phase} | {b:F1} | {c:F1} | {b / c:F2}× |"));
            }

            // Rollouts alone (the driver's 8 prompt batches in turn, seeded), interleaved the same way.
            var rollouts = new Dictionary<string, List<double>> { ["baseline"] = new(), ["current"] = new() };
            for (int i = 0; i < steps + 1; i++)
            {
                foreach (var (version, workloads) in new[] { ("baseline", baseline), ("current", current) })
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    workloads.Generate(11 + i);
                    if (i > 0)
                    {
                        rollouts[version].Add(clock.Elapsed.TotalMilliseconds);
                    }
                }
            }

            double rolloutBaseline = rollouts["baseline"].Order().ElementAt(steps / 2), rolloutCurrent = rollouts["current"].Order().ElementAt(steps / 2);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| rollouts alone (8 prompt batches in turn) | {rolloutBaseline:F1} | {rolloutCurrent:F1} | {rolloutBaseline / rolloutCurrent:F2}× |"));
            double rb = samples["baseline"].Average(m => m["reward"]), rc = samples["current"].Average(m => m["reward"]);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean reward over the measured steps: baseline {rb:F4}, current {rc:F4}"));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
