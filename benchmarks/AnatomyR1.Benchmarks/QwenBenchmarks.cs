using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// A tiny Qwen2.5-VL configuration (decoder width 128, 4 layers, 4 heads / 2 KV heads, SwiGLU 352; vision tower
/// width 64, 2 blocks; random weights; the test tokenizer's 1,022 tokens) beside the built-in model of the same
/// width and depth, on the CPU: prefill (8 prompts, one new token), rollouts (8 prompts × G = 8, 48 new tokens,
/// shared prefix) and one GRPO-style update (log-probabilities of the 64 completions, backward, AdamW).
/// Images are 64 × 64 scenes: 9 image tokens for the built-in model, 4 for Qwen (smart-resized to 56 × 56).
/// </summary>
[MemoryDiagnoser]
public class QwenBenchmarks
{
    private const int Prompts = 8;
    private const int Generations = 8;
    private const int NewTokens = 48;

    private QwenVLPolicy _qwen = null!;
    private TinyVlmPolicy _tiny = null!;
    private ImageBatch _qwenImages = null!;
    private ImageBatch _tinyImages = null!;
    private ImageBatch _qwenImagesG = null!;
    private ImageBatch _tinyImagesG = null!;
    private TokenBatch _qwenPrompts = null!;
    private TokenBatch _tinyPrompts = null!;
    private TokenBatch _qwenCompletions = null!;
    private TokenBatch _tinyCompletions = null!;
    private global::TorchSharp.Modules.AdamW _qwenOptimizer = null!;
    private global::TorchSharp.Modules.AdamW _tinyOptimizer = null!;

    /// <summary>The tiny Qwen2.5-VL configuration benchmarked here.</summary>
    /// <param name="vocabulary">Embedding rows.</param>
    /// <returns>The configuration.</returns>
    public static QwenVLConfig TinyConfig(int vocabulary = 1024) => new()
    {
        Text = new QwenTextConfig { VocabSize = vocabulary, HiddenSize = 128, IntermediateSize = 352, Layers = 4, Heads = 4, KeyValueHeads = 2, MropeSection = new[] { 4, 6, 6 }, MaxPositionEmbeddings = 4096 },
        Vision = new QwenVisionConfig { Depth = 2, HiddenSize = 64, IntermediateSize = 128, Heads = 2, OutHiddenSize = 128, FullAttentionBlocks = new[] { 1 } },
        TieWordEmbeddings = true,
        ImageTokenId = 1012,
        VideoTokenId = 1013,
        VisionStartTokenId = 1009,
        VisionEndTokenId = 1010,
        EosTokenId = 1002,
        PadTokenId = 1000,
    };

    /// <summary>The folder of the tiny test tokenizer (found above the benchmark's output folder).</summary>
    /// <returns>The folder.</returns>
    public static string TokenizerFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "qwen2_5_vl", "tokenizer");
            if (File.Exists(Path.Combine(candidate, "tokenizer.json")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/fixtures/qwen2_5_vl/tokenizer was not found above the benchmark's folder.");
    }

    /// <summary>Creates both policies and their inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureThreads();
        TorchRuntime.Seed(1);
        _qwen = new QwenVLPolicy(new QwenVLModel(TinyConfig()), Qwen2Tokenizer.Load(TokenizerFolder()), new QwenImageProcessor(), CPU);
        _tiny = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 1);
        var noise = new Random(5);
        var images = Enumerable.Range(0, Prompts).Select(_ => PolicyImage.FromPixels(Enumerable.Range(0, 3 * 64 * 64).Select(_ => (float)noise.NextDouble()).ToArray(), 64, 64)).ToList();
        var imagesG = images.SelectMany(i => Enumerable.Repeat(i, Generations)).ToList();
        _qwenImages = _qwen.ImageProcessor.Collate(images.Select(_qwen.ImageProcessor.Prepare).ToList(), CPU);
        _tinyImages = _tiny.ImageProcessor.Collate(images.Select(_tiny.ImageProcessor.Prepare).ToList(), CPU);
        _qwenImagesG = _qwen.ImageProcessor.Collate(imagesG.Select(_qwen.ImageProcessor.Prepare).ToList(), CPU);
        _tinyImagesG = _tiny.ImageProcessor.Collate(imagesG.Select(_tiny.ImageProcessor.Prepare).ToList(), CPU);
        var questions = Enumerable.Range(0, Prompts).Select(i => $"What is the name of the anatomy that is both above the grasper and left of the liver anatomy? {i}").ToList();
        string[] options = { "Liver", "Gut", "Omentum", "Cystic Plate" };
        _qwenPrompts = _qwen.EncodePrompts(questions.Select(q => _qwen.FormatPrompt(q, options)).ToList());
        _tinyPrompts = _tiny.EncodePrompts(questions.Select(q => _tiny.FormatPrompt(q, options)).ToList());
        const string trace = "<think> the grasper is at the mid-right; the anatomy above the grasper and left of the liver is at the top-mid; the top-mid is gut </think> <answer>B</answer>";
        _qwenCompletions = _qwen.EncodeCompletions(Enumerable.Repeat(trace, Prompts * Generations).ToList());
        _tinyCompletions = _tiny.EncodeCompletions(Enumerable.Repeat(trace, Prompts * Generations).ToList());
        _qwenOptimizer = optim.AdamW(_qwen.TrainableParameters(), 1e-5);
        _tinyOptimizer = optim.AdamW(_tiny.TrainableParameters(), 1e-5);
    }

    /// <summary>Frees native memory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _qwenOptimizer.Dispose();
        _tinyOptimizer.Dispose();
        foreach (var d in new IDisposable[] { _qwenImages, _tinyImages, _qwenImagesG, _tinyImagesG, _qwenPrompts, _tinyPrompts, _qwenCompletions, _tinyCompletions, _qwen, _tiny })
        {
            d.Dispose();
        }
    }

    /// <summary>Built-in model: prefill of 8 prompts (one new token).</summary>
    /// <returns>Prompt tokens processed (image tokens included).</returns>
    [Benchmark(Baseline = true)]
    public long BuiltInPrefill() => Prefill(_tiny, _tinyImages, _tinyPrompts);

    /// <summary>Qwen2.5-VL (tiny): prefill of 8 prompts (one new token).</summary>
    /// <returns>Prompt tokens processed (image tokens included).</returns>
    [Benchmark]
    public long QwenPrefill() => Prefill(_qwen, _qwenImages, _qwenPrompts);

    /// <summary>Built-in model: 8 prompts × 8 rollouts of 48 tokens.</summary>
    /// <returns>Tokens generated.</returns>
    [Benchmark]
    public long BuiltInRollouts() => Rollouts(_tiny, _tinyImages, _tinyPrompts);

    /// <summary>Qwen2.5-VL (tiny): 8 prompts × 8 rollouts of 48 tokens.</summary>
    /// <returns>Tokens generated.</returns>
    [Benchmark]
    public long QwenRollouts() => Rollouts(_qwen, _qwenImages, _qwenPrompts);

    /// <summary>Built-in model: log-probabilities of 64 completions, backward, AdamW step.</summary>
    /// <returns>Completion tokens trained.</returns>
    [Benchmark]
    public long BuiltInUpdate() => Update(_tiny, _tinyImagesG, _tinyPrompts, _tinyCompletions, _tinyOptimizer);

    /// <summary>Qwen2.5-VL (tiny): log-probabilities of 64 completions, backward, AdamW step.</summary>
    /// <returns>Completion tokens trained.</returns>
    [Benchmark]
    public long QwenUpdate() => Update(_qwen, _qwenImagesG, _qwenPrompts, _qwenCompletions, _qwenOptimizer);

    private static long Prefill(IVisionLanguagePolicy policy, ImageBatch images, TokenBatch prompts)
    {
        using var result = policy.Generate(images, prompts, new GenerationOptions { MaxNewTokens = 1, Temperature = 0 });
        return (prompts.Mask.sum().item<long>()) + images.TokenCounts.Sum();
    }

    private static long Rollouts(IVisionLanguagePolicy policy, ImageBatch images, TokenBatch prompts)
    {
        using var result = policy.Generate(images, prompts, new GenerationOptions { NumReturnSequences = Generations, MaxNewTokens = NewTokens, Seed = 3 });
        return result.Completions.Mask.sum().item<long>();
    }

    private static long Update(IVisionLanguagePolicy policy, ImageBatch images, TokenBatch prompts, TokenBatch completions, global::TorchSharp.Modules.AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        policy.SetTraining(true);
        using var repeated = prompts.RepeatRows(Generations);
        var logProbs = policy.CompletionLogProbs(images, repeated, completions);
        var loss = -(logProbs.sum() / completions.Mask.sum());
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        policy.SetTraining(false);
        return completions.Mask.sum().item<long>();
    }
}
