using AnatomyR1.TorchSharp.Policy;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// One generation batch: its scored groups, how dynamic sampling changed them, timings, and — once prepared for the
/// update — advantages and the micro-batch tensors. Reused for μ optimiser steps.
/// </summary>
internal sealed class RolloutBatch : IDisposable
{
    public RolloutBatch(List<GroupRollout> groups, bool[] zeroStdBefore, int resampled, double generationSeconds, double rewardSeconds)
    {
        Groups = groups;
        ZeroStdBefore = zeroStdBefore;
        Resampled = resampled;
        GenerationSeconds = generationSeconds;
        RewardSeconds = rewardSeconds;
    }

    public List<GroupRollout> Groups { get; }

    /// <summary>The shard this batch is (0 with one shard).</summary>
    public int Shard { get; init; }

    public bool[] ZeroStdBefore { get; }

    public int Resampled { get; }

    public double GenerationSeconds { get; }

    public double RewardSeconds { get; }

    public double ReferenceSeconds { get; set; }

    public float[] Advantages { get; set; } = Array.Empty<float>();

    public List<MicroBatch> MicroBatches { get; } = new();

    /// <summary>Loss-mask tokens of the whole step: every micro-batch of every shard, on every process.</summary>
    public long TokenCount { get; set; }

    /// <summary>Loss-mask tokens of micro-batch m summed over all shards (the micro-batch's global size).</summary>
    public long[] MicroBatchTokens { get; set; } = Array.Empty<long>();

    public int Uses { get; set; }

    public bool Finite => Groups.All(g => g.Finite);

    public void Dispose()
    {
        foreach (var m in MicroBatches)
        {
            m.Dispose();
        }

        MicroBatches.Clear();
    }
}

/// <summary>What the metrics and the advantages need of one group, as every process sees it.</summary>
internal sealed record GroupSummary(int ExampleIndex, float[] Rewards, Dictionary<string, float?[]> PerFunction, int[] Lengths, bool[] Truncated, bool Spread, int DistinctForms, bool ZeroStdBefore)
{
    public int Size => Rewards.Length;

    public bool ZeroStd => GrpoAdvantages.IsZeroStd(Rewards, 0, Rewards.Length);

    public bool Finite => Rewards.All(float.IsFinite);
}

/// <summary>
/// The whole step's generation batch as every process sees it: the groups of all shards in shard order (gathered over
/// the processes), dynamic sampling's counts and the slowest process's timings.
/// </summary>
internal sealed class BatchView
{
    public BatchView(List<GroupSummary> groups, int resampled, double generationSeconds, double rewardSeconds, double referenceSeconds, bool fresh)
    {
        Groups = groups;
        Resampled = resampled;
        GenerationSeconds = generationSeconds;
        RewardSeconds = rewardSeconds;
        ReferenceSeconds = referenceSeconds;
        Fresh = fresh;
    }

    public List<GroupSummary> Groups { get; }

    public int Resampled { get; }

    public double GenerationSeconds { get; }

    public double RewardSeconds { get; }

    /// <summary>The reference pass's time (the slowest process's), known once the shards are prepared.</summary>
    public double ReferenceSeconds { get; set; }

    /// <summary>Whether the batch was generated for this step (false for the later updates of μ &gt; 1).</summary>
    public bool Fresh { get; set; }

    public bool Finite => Groups.All(g => g.Finite);
}

/// <summary>The tensors of one gradient-accumulation micro-batch, kept on the device across μ updates.</summary>
internal sealed class MicroBatch : IDisposable
{
    public ImageBatch? Images { get; set; }

    public TokenBatch? Prompts { get; set; }

    public TokenBatch? Completions { get; set; }

    public Tensor? Advantages { get; set; }

    public Tensor? Truncated { get; set; }

    public Tensor? LossMask { get; set; }

    public Tensor? OldLogProbs { get; set; }

    public Tensor? ReferenceLogProbs { get; set; }

    public void DetachAll()
    {
        foreach (var t in All())
        {
            t?.DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        foreach (var t in All())
        {
            t?.Dispose();
        }
    }

    private IEnumerable<Tensor?> All() => new[] { Images?.Values, Prompts?.Ids, Prompts?.Mask, Completions?.Ids, Completions?.Mask, Advantages, Truncated, LossMask, OldLogProbs, ReferenceLogProbs };
}
