using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Diagnosers;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// GDQA variant generation on one core: the 1,000 published GRPO.json records with template rephrasing and option
/// permutation (K = 4 forms, 3 new per record), the parser alone, and 1,000 synthetic records with scene-graph
/// references (each proven on the graph). Rows/s = 1000 / time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SingleCoreConfig))]
public class AugmentationBenchmarks
{
    private VqaSample[] _published = Array.Empty<VqaSample>();
    private VqaSample[] _synthetic = Array.Empty<VqaSample>();
    private string _folder = string.Empty;
    private QuestionAugmenter _textual = null!;
    private QuestionAugmenter _scenes = null!;

    /// <summary>Loads the records and writes a synthetic dataset.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _published = VqaDataLoader.Load(Path.Combine(AnatomyR1.Testing.SharedDataLocator.AnatomyR1Folder(), "GRPO.json")).Samples.ToArray();
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-gdqa-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 1000, Seed = 5 });
        _synthetic = new[] { "train", "val", "test" }.SelectMany(s => VqaDataLoader.Load(Path.Combine(_folder, s + ".json")).Samples).Take(1000).ToArray();
        _textual = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, SceneGraphReferences = false, RelationSynonyms = false });
        _scenes = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All });
        _scenes.Augment(_synthetic[0]);
    }

    /// <summary>Removes the synthetic dataset.</summary>
    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    /// <summary>Rephrasing + option permutation of 1,000 published records.</summary>
    /// <returns>New forms made.</returns>
    [Benchmark(Baseline = true)]
    public int RephraseAndPermutePublished()
    {
        int forms = 0;
        foreach (var s in _published)
        {
            forms += _textual.Augment(s).Variants.Count - 1;
        }

        return forms;
    }

    /// <summary>Parsing 1,000 published questions.</summary>
    /// <returns>Questions parsed.</returns>
    [Benchmark]
    public int ParsePublished() => _published.Count(s => SsgQuestionParser.Parse(s.Question) is not null);

    /// <summary>All generators on 1,000 synthetic records: scene-graph references first (graphs cached after the first pass).</summary>
    /// <returns>New forms made.</returns>
    [Benchmark]
    public int SceneGraphReferencesSynthetic()
    {
        int forms = 0;
        foreach (var s in _synthetic)
        {
            forms += _scenes.Augment(s).Variants.Count - 1;
        }

        return forms;
    }
}
