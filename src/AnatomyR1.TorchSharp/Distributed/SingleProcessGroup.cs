namespace AnatomyR1.TorchSharp.Distributed;

/// <summary>A job of one process: rank 0 of 1, every collective leaves its buffer as it is. The default.</summary>
public sealed class SingleProcessGroup : IProcessGroup
{
    /// <summary>The shared instance.</summary>
    public static SingleProcessGroup Instance { get; } = new();

    private SingleProcessGroup()
    {
    }

    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    public string Description => "single-process";

    /// <inheritdoc />
    public void AllReduce(Span<float> values, ReduceOp op)
    {
    }

    /// <inheritdoc />
    public void AllReduce(Span<double> values, ReduceOp op)
    {
    }

    /// <inheritdoc />
    public void AllReduce(Span<long> values, ReduceOp op)
    {
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes, int root)
    {
        if (root != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, "A single-process group has only rank 0.");
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
    }

    /// <inheritdoc />
    public void Abort(int exitCode) => Environment.Exit(exitCode);

    /// <summary>Nothing to release.</summary>
    public void Dispose()
    {
    }
}
