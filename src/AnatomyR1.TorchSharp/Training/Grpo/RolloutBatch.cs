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

    public bool[] ZeroStdBefore { get; }

    public int Resampled { get; }

    public double GenerationSeconds { get; }

    public double RewardSeconds { get; }

    public double ReferenceSeconds { get; set; }

    public float[] Advantages { get; set; } = Array.Empty<float>();

    public List<MicroBatch> MicroBatches { get; } = new();

    public long TokenCount { get; set; }

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
