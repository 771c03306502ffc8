using AnatomyR1.Synthetic;
using BenchmarkDotNet.Attributes;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// Synthetic scene throughput at the default 64 px: 200 scenes (1 question each) generated and rendered to PNG in
/// memory on all cores, and written to disk as a dataset folder. Scenes/s = 200 / mean time.
/// </summary>
[MemoryDiagnoser]
public class SyntheticBenchmarks
{
    /// <summary>Scenes per operation.</summary>
    public const int Scenes = 200;

    private string _folder = string.Empty;

    /// <summary>Creates a scratch folder.</summary>
    [GlobalSetup]
    public void Setup() => _folder = Directory.CreateTempSubdirectory("anatomyr1-bench").FullName;

    /// <summary>Removes the scratch folder.</summary>
    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    /// <summary>Generate and render 200 scenes in memory (all cores).</summary>
    /// <returns>Total PNG bytes.</returns>
    [Benchmark(Baseline = true)]
    public long GenerateAndRender200() =>
        SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = Scenes, Seed = 1 }).Sum(s => (long)s.Png.Length);

    /// <summary>Generate and render 200 scenes on one thread.</summary>
    /// <returns>Total PNG bytes.</returns>
    [Benchmark]
    public long GenerateAndRender200OneThread() =>
        SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = Scenes, Seed = 1, Parallelism = 1 }).Sum(s => (long)s.Png.Length);

    /// <summary>Generate, render and write a 200-scene dataset folder.</summary>
    /// <returns>Records written.</returns>
    [Benchmark]
    public int WriteDataset200()
    {
        string target = Path.Combine(_folder, Guid.NewGuid().ToString("N"));
        int records = SyntheticDatasetWriter.Write(target, new SyntheticDatasetOptions { Count = Scenes, Seed = 1 }).Records;
        Directory.Delete(target, recursive: true);
        return records;
    }
}
