using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Policy;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Diagnosers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// S(q) scoring throughput on the 1,000 published GRPO.json records (4 options each), one core, for each similarity
/// measure: rows/s = 1000 / time. "Warm" measures keep their embedding cache between invocations (as the fitted
/// transformer does: the published records use six option texts); "unseen texts" gives every row its own option
/// texts and a fresh embedder, so every option is embedded (the worst case, e.g. free-text OmniMedVQA options).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SingleCoreConfig))]
public class SimilarityBenchmarks
{
    private VqaSample[] _samples = Array.Empty<VqaSample>();
    private string[][] _uniqueOptions = Array.Empty<string[]>();
    private CharNGramEmbedder _ngram = new();
    private PolicyTokenEmbedder? _policy;
    private AnatomyR1.TorchSharp.Models.Tiny.VlmTokenizer? _tokenizer;
    private float[] _embeddings = Array.Empty<float>();
    private int _width;
    private ClassSimilarityTable _table = ClassSimilarityTable.SyntheticVisual();
    private MLContext _ml = new(seed: 0);
    private IDataView _view = null!;
    private AnatomicalSimilarityTransformer _transformer = null!;

    /// <summary>Loads the records, the built-in policy's embeddings and a fitted transformer.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _samples = VqaDataLoader.Load(Path.Combine(AnatomyR1.Testing.SharedDataLocator.AnatomyR1Folder(), "GRPO.json")).Samples.ToArray();
        _uniqueOptions = _samples.Select((s, i) => s.Options.Select(o => $"{o} {i}").ToArray()).ToArray();
        using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
        {
            _policy = new PolicyTokenEmbedder(policy);
            _tokenizer = policy.Tokenizer;
            var weight = policy.Model.named_parameters().First(p => p.name == "embed_tokens.weight").parameter;
            _embeddings = weight.detach().cpu().data<float>().ToArray();
            _width = (int)weight.shape[1];
        }

        _view = _ml.Data.LoadFromEnumerable(_samples);
        _transformer = _ml.AnatomyR1().AnatomicalSimilarity().Fit(_view);
        NGramWarm();
        PolicyEmbeddingsWarm();
    }

    /// <summary>Character n-grams, embedding cache warm.</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark(Baseline = true)]
    public double NGramWarm() => Sum(_ngram);

    /// <summary>Character n-grams, every option text unseen (4,000 embeddings).</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark]
    public double NGramUnseenTexts()
    {
        var fresh = new CharNGramEmbedder();
        double sum = 0;
        for (int i = 0; i < _samples.Length; i++)
        {
            sum += OptionSimilarityScore.Compute(_uniqueOptions[i], _samples[i].CorrectIndex, fresh);
        }

        return sum;
    }

    /// <summary>The policy's token embeddings (width 128), cache warm.</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark]
    public double PolicyEmbeddingsWarm() => Sum(_policy!);

    /// <summary>The policy's token embeddings, every option text unseen (tokenising each).</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark]
    public double PolicyEmbeddingsUnseenTexts()
    {
        double sum = 0;
        var fresh = new PolicyTokenEmbedder(_tokenizer!, _embeddings, _width);
        for (int i = 0; i < _samples.Length; i++)
        {
            sum += OptionSimilarityScore.Compute(_uniqueOptions[i], _samples[i].CorrectIndex, fresh);
        }

        return sum;
    }

    /// <summary>The class-similarity table.</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark]
    public double ClassTable() => Sum(_table);

    /// <summary>The fitted transformer read through an ML.NET cursor (n-grams, warm): the pipeline path.</summary>
    /// <returns>Sum of S(q).</returns>
    [Benchmark]
    public double TransformerCursor()
    {
        var output = _transformer.Transform(_view);
        using var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name == VqaColumns.OptionSimilarity));
        var getter = cursor.GetGetter<float>(output.Schema[VqaColumns.OptionSimilarity]);
        double sum = 0;
        float value = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value;
        }

        return sum;
    }

    private double Sum(IOptionSimilarity measure)
    {
        double sum = 0;
        foreach (var s in _samples)
        {
            sum += OptionSimilarityScore.Compute(s.Options, s.CorrectIndex, measure);
        }

        return sum;
    }
}
