using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training.Grpo;

namespace AnatomyR1.Benchmarks.Driver;

/// <summary>
/// The workloads that are compared across versions of the library: sampled rollouts of a batch of prompts and one
/// full GRPO step, on a policy loaded from a folder or created from a preset. Its constructor and methods take and
/// return only plain .NET types, so that a benchmark can load two builds of the library side by side (each in its
/// own assembly load context) and call both through the same reflection-free delegates.
/// </summary>
public sealed class WorkloadDriver : IDisposable
{
    private readonly IVisionLanguagePolicy _policy;
    private readonly List<(ImageBatch Images, TokenBatch Prompts)> _batches = new();
    private readonly GrpoSession _session;
    private readonly int _generations;
    private readonly int _maxNewTokens;

    /// <summary>Loads the policy and data and creates a GRPO session.</summary>
    /// <param name="policy">A policy folder, or a preset name (created with seed 1).</param>
    /// <param name="trainJson">A training file in the project's record format.</param>
    /// <param name="batchSize">Prompts per rollout batch and per GRPO step.</param>
    /// <param name="generations">Completions per prompt (G).</param>
    /// <param name="maxNewTokens">Most new tokens per completion.</param>
    /// <param name="beta">KL weight of the GRPO step (0: no reference pass).</param>
    public WorkloadDriver(string policy, string trainJson, int batchSize, int generations, int maxNewTokens, double beta)
    {
        TorchRuntime.EnsureThreads();
        _policy = Directory.Exists(policy) ? PolicyRegistry.Load(policy, "cpu") : PolicyRegistry.Create(policy, "cpu", 1);
        _generations = generations;
        _maxNewTokens = maxNewTokens;
        var samples = VqaDataLoader.Load(trainJson).Samples;
        for (int b = 0; b < RolloutBatches; b++)
        {
            var part = samples.Skip(b * batchSize).Take(batchSize).ToList();
            _batches.Add((_policy.ImageProcessor.Collate(part.Select(s => _policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList(), _policy.Device),
                _policy.EncodePrompts(part.Select(s => _policy.FormatPrompt(s)).ToList())));
        }

        var options = new GrpoOptions
        {
            Steps = int.MaxValue,
            BatchSize = batchSize,
            NumGenerations = generations,
            Beta = beta,
            LearningRate = 1e-5,
            VisionLearningRate = 1e-5,
            WarmupSteps = 0,
            Generation = new GenerationOptions { MaxNewTokens = maxNewTokens },
        };
        _session = new GrpoSession(_policy, samples.Select(s => new GrpoExample(s)).ToList(), options);
    }

    /// <summary>Prompt batches <see cref="Generate"/> cycles through (the first 8 × batch size training questions).</summary>
    public const int RolloutBatches = 8;

    /// <summary>
    /// Samples G completions for each prompt of batch <c>seed mod 8</c> of the first questions (temperature 1, seeded),
    /// so that consecutive seeds cover batches whose completions end early and batches whose completions run long.
    /// </summary>
    /// <param name="seed">Sampling seed (non-negative).</param>
    /// <returns>The completions' token ids, row by row (padding left out).</returns>
    public int[][] Generate(long seed)
    {
        var (images, prompts) = _batches[(int)(seed % RolloutBatches)];
        using var result = _policy.Generate(images, prompts, new GenerationOptions { NumReturnSequences = _generations, MaxNewTokens = _maxNewTokens, Seed = seed });
        long[] ids = result.Completions.Ids.cpu().data<long>().ToArray();
        long[] mask = result.Completions.Mask.cpu().data<long>().ToArray();
        int width = (int)result.Completions.Length;
        return Enumerable.Range(0, (int)result.Completions.Rows)
            .Select(r => Enumerable.Range(0, width).Where(c => mask[(r * width) + c] != 0).Select(c => (int)ids[(r * width) + c]).ToArray())
            .ToArray();
    }

    /// <summary>Runs one GRPO step (rollouts, rewards, reference and update passes, AdamW).</summary>
    /// <returns>The step's metrics by name (times in seconds).</returns>
    public Dictionary<string, double> GrpoStep()
    {
        var metrics = _session.RunStep();
        return metrics.Values.GroupBy(v => v.Key).ToDictionary(g => g.Key, g => g.Last().Value);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _session.Dispose();
        foreach (var (images, prompts) in _batches)
        {
            images.Dispose();
            prompts.Dispose();
        }

        _policy.Dispose();
    }
}
