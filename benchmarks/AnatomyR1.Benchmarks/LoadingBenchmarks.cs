using AnatomyR1.Data;
using AnatomyR1.Prompts;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Diagnosers;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// Loading throughput of the Anatomy-R1 JSON format on the published records (1,000 records, 1.3–1.6 MB each file),
/// from bytes already in memory (parsing and validation only) and from disk. Records/s = 1000 / mean time.
/// The data folder is <c>../shared/data/anatomy-r1</c> beside the repository, or ANATOMYR1_SHARED_DATA.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SingleCoreConfig))]
public class LoadingBenchmarks
{
    private byte[] _grpo = Array.Empty<byte>();
    private string _path = string.Empty;
    private string[] _completions = Array.Empty<string>();
    private string[] _options = Array.Empty<string>();

    /// <summary>Records per file in the published data.</summary>
    public const int Records = 1000;

    /// <summary>Reads the file once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(AnatomyR1.Testing.SharedDataLocator.AnatomyR1Folder(), "GRPO.json");
        _grpo = File.ReadAllBytes(_path);
        _options = new[] { "Gallbladder", "Liver", "Abdominal Wall Cavity", "Omentum" };
        _completions = Enumerable.Range(0, Records)
            .Select(i => $"<think>the top-left region is smooth and brown, option {(char)('A' + (i % 4))}</think> <answer>{_options[i % 4]}</answer>")
            .ToArray();
    }

    /// <summary>Parse and validate 1,000 Anatomy-R1 records from memory.</summary>
    /// <returns>Records loaded.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = 1)]
    public int AnatomyR1JsonFromMemory() => VqaDataLoader.Load(_grpo, "GRPO.json").Samples.Count;

    /// <summary>Read, parse and validate 1,000 Anatomy-R1 records from disk.</summary>
    /// <returns>Records loaded.</returns>
    [Benchmark]
    public int AnatomyR1JsonFromDisk() => VqaDataLoader.Load(_path).Samples.Count;

    /// <summary>Extract 1,000 answers with the OmniMedVQA difflib rule.</summary>
    /// <returns>Sum of chosen indices.</returns>
    [Benchmark]
    public int NearestOptionExtraction1000()
    {
        var extractor = new AnswerExtractor(AnswerExtractionStrategy.NearestOption);
        int sum = 0;
        foreach (string c in _completions)
        {
            sum += extractor.Extract(c, _options).Index;
        }

        return sum;
    }
}
