using System.Globalization;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using BenchmarkDotNet.Attributes;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// This checkout against an earlier build of the library (see <see cref="LibraryVersions"/>), in one BenchmarkDotNet
/// run: sampled rollouts (B = 4 prompts × G = 8, at most 64 new tokens, temperature 1, cycling through 8 prompt batches) and one full GRPO step
/// (the same batch shape, β = 0.04, AdamW), on the built-in policy and on the tiny Qwen2.5-VL preset. The ratio
/// column compares each version with <c>baseline</c>. Before measuring, the setup checks that both versions sample
/// the same completions for the same seeds (a faster version that changed the samples would not be comparable).
/// Run with <c>scripts/build-benchmark-baseline.sh COMMIT DIR</c>, then
/// <c>ANATOMYR1_BASELINE=DIR dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- --filter '*VersionComparison*'</c>.
/// </summary>
[MemoryDiagnoser]
public class VersionComparison
{
    private LibraryVersions.Workloads _workloads = null!;
    private string _folder = null!;
    private long _rollout;

    /// <summary>The library build.</summary>
    [Params("baseline", "current")]
    public string Version { get; set; } = "current";

    /// <summary>The policy: <c>built-in</c> (the default checkpoint) or <c>qwen-tiny</c>.</summary>
    [Params("built-in", "qwen-tiny")]
    public string Policy { get; set; } = "built-in";

    /// <summary>Writes the questions and loads the policy in the chosen version.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-versions-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 400, Seed = 3 });
        string policy = Policy == "built-in" ? BuiltInPolicy.Folder() : Policy;
        _workloads = LibraryVersions.Create(Version, policy, Path.Combine(_folder, "train.json"), 4, 8, 64, 0.04);
        if (Version != "baseline" && Environment.GetEnvironmentVariable(LibraryVersions.BaselineVariable) is not null)
        {
            CheckSameCompletions(policy);
        }
    }

    /// <summary>Frees the policy and the questions.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _workloads.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>
    /// B = 4 × G = 8 sampled completions of at most 64 tokens, cycling through 8 prompt batches and seeds (the same
    /// sequence for both versions), so that the time averages over batches whose completions end early and batches
    /// whose completions run to the limit.
    /// </summary>
    /// <returns>Tokens generated.</returns>
    [Benchmark]
    public long Rollouts() => _workloads.Generate(_rollout++ % 8).Sum(row => (long)row.Length);

    /// <summary>One GRPO step (rollouts, rewards, reference and update passes, AdamW).</summary>
    /// <returns>The step's mean reward.</returns>
    [Benchmark]
    public double GrpoStep() => _workloads.GrpoStep()["reward"];

    private void CheckSameCompletions(string policy)
    {
        using var baseline = LibraryVersions.Create("baseline", policy, Path.Combine(_folder, "train.json"), 4, 8, 64, 0.04);
        foreach (long seed in new long[] { 1, 2, 3 })
        {
            var expected = baseline.Generate(seed);
            var actual = _workloads.Generate(seed);
            for (int r = 0; r < expected.Length; r++)
            {
                if (!expected[r].SequenceEqual(actual[r]))
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"The {Version} build samples different completions than the baseline for seed {seed}, row {r}: [{string.Join(' ', actual[r])}] vs [{string.Join(' ', expected[r])}]."));
                }
            }
        }

        Console.WriteLine($"// {Policy}: the {Version} build samples the same completions as the baseline for seeds 1–3.");
    }
}
