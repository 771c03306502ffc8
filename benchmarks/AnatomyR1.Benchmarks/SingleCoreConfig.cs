using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// One job pinned to one core, with the memory diagnoser: the single-threaded suites (loading, S(q), augmentation)
/// report figures comparable to their one-core targets.
/// </summary>
internal sealed class SingleCoreConfig : ManualConfig
{
    public SingleCoreConfig()
    {
        AddJob(Job.Default.WithAffinity(1).WithId("1 core"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
