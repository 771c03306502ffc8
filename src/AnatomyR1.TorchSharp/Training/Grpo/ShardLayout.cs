using AnatomyR1.TorchSharp.Distributed;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// How a step's global batch is cut into shards and which shards this process runs: shard s holds prompts
/// s·B/S … (s + 1)·B/S − 1 of the step's draw; process r runs shards r·S/N … (r + 1)·S/N − 1.
/// </summary>
internal sealed class ShardLayout
{
    public ShardLayout(IProcessGroup group, int shards, int batchSize)
    {
        Group = group;
        Count = shards == 0 ? group.Size : shards;
        if (Count % group.Size != 0)
        {
            throw new ArgumentException($"GRPO option Shards = {Count} is invalid: it must be a multiple of the number of processes ({group.Size}).", nameof(shards));
        }

        if (batchSize % Count != 0)
        {
            throw new ArgumentException($"GRPO option BatchSize = {batchSize} is invalid: the global batch must divide into {Count} shards ({group.Size} processes).", nameof(batchSize));
        }

        PerShard = batchSize / Count;
        LocalCount = Count / group.Size;
        First = group.Rank * LocalCount;
    }

    public IProcessGroup Group { get; }

    /// <summary>Shards in the job (S).</summary>
    public int Count { get; }

    /// <summary>Prompts per shard (B / S).</summary>
    public int PerShard { get; }

    /// <summary>This process's first shard.</summary>
    public int First { get; }

    /// <summary>Shards this process runs.</summary>
    public int LocalCount { get; }

    public bool Distributed => Group.Size > 1;

    /// <summary>This process's shards, in order.</summary>
    public IEnumerable<int> Local => Enumerable.Range(First, LocalCount);
}
