using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Training;
using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// The default policy on the CPU: GRPO-style rollouts (8 prompts × G = 8 completions, 48 new tokens, sampling) with
/// a shared prefix (image encoded and prompt prefilled once, KV cache expanded 8 ways) versus separate prefills, and
/// one supervised training step (forward + backward + AdamW) at batch 32. Tokens/s = tokens generated or trained / time.
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private TinyVlmPolicy _policy = null!;
    private Tensor _pixels = null!;
    private TokenBatch _prompts = null!;
    private ImageBatch _trainPixels = null!;
    private TokenBatch _trainPrompts = null!;
    private TokenBatch _trainTargets = null!;
    private global::TorchSharp.Modules.AdamW _optimizer = null!;

    /// <summary>Creates the policy and inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureThreads();
        _policy = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 1);
        TorchRuntime.Seed(2);
        var prompts = Enumerable.Range(0, 8).Select(i => $"What is the name of the anatomy that is both above the grasper and left of the liver anatomy? {i}\nOptions:\nA. Liver\nB. Gut\nC. Omentum\nD. Cystic Plate").ToList();
        _pixels = rand(8, 3, 64, 64);
        _prompts = _policy.EncodePrompts(prompts);
        var noise = new Random(5);
        _trainPixels = _policy.ImageProcessor.Collate(Enumerable.Range(0, 32).Select(_ => _policy.ImageProcessor.Prepare(
            PolicyImage.FromPixels(Enumerable.Range(0, 3 * 64 * 64).Select(_ => (float)noise.NextDouble()).ToArray(), 64, 64))).ToList(), _policy.Device);
        _trainPrompts = _policy.EncodePrompts(Enumerable.Range(0, 4).SelectMany(_ => prompts).ToList());
        _trainTargets = _policy.EncodeCompletions(Enumerable.Repeat("<think> the grasper is at the mid-right; the anatomy above the grasper and left of the liver is at the top-mid; the top-mid is gut, option B </think> <answer>B</answer>", 32).ToList());
        _optimizer = optim.AdamW(_policy.TrainableParameters(), 1e-4);
    }

    /// <summary>Frees native memory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _prompts.Dispose();
        _trainPrompts.Dispose();
        _trainTargets.Dispose();
        _policy.Dispose();
    }

    /// <summary>8 prompts × 8 completions, shared prefix.</summary>
    /// <returns>Tokens generated.</returns>
    [Benchmark(Baseline = true)]
    public long RolloutsSharedPrefix() => Rollouts(sharePrefix: true);

    /// <summary>8 prompts × 8 completions, every completion prefilled separately.</summary>
    /// <returns>Tokens generated.</returns>
    [Benchmark]
    public long RolloutsSeparatePrefill() => Rollouts(sharePrefix: false);

    /// <summary>One supervised step at batch 32.</summary>
    /// <returns>Completion tokens trained.</returns>
    [Benchmark]
    public long SupervisedStepBatch32()
    {
        using var scope = NewDisposeScope();
        _policy.SetTraining(true);
        var loss = SupervisedTrainer.Loss(_policy, _trainPixels, _trainPrompts, _trainTargets);
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        return _trainTargets.Mask.sum().item<long>();
    }

    private long Rollouts(bool sharePrefix)
    {
        using var result = _policy.Generate(_pixels, _prompts, new GenerationOptions { NumReturnSequences = 8, MaxNewTokens = 48, SharePrefix = sharePrefix, Seed = 3 });
        return result.Completions.Rows * result.Completions.Length;
    }
}
