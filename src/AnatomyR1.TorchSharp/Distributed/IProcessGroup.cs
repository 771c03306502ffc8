namespace AnatomyR1.TorchSharp.Distributed;

/// <summary>How <see cref="IProcessGroup.AllReduce(Span{double}, ReduceOp)"/> combines the processes' values.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum,

    /// <summary>Element-wise maximum.</summary>
    Max,

    /// <summary>Element-wise minimum.</summary>
    Min,
}

/// <summary>
/// The processes of one data-parallel job and the collective operations data-parallel GRPO needs: every process calls
/// each operation in the same order with buffers of the same length, and every process receives the result.
/// <see cref="SingleProcessGroup"/> (one process, every operation the identity) is the default;
/// <see cref="OpenMpiProcessGroup"/> runs over Open MPI. Another backend (for example NCCL for CUDA tensors) implements
/// this interface; the trainer does not change.
/// </summary>
/// <remarks>
/// Calls are blocking and must not overlap (one thread at a time). A process that fails must call
/// <see cref="Abort"/> so that the others do not wait forever in their next collective.
/// </remarks>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's index, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int Size { get; }

    /// <summary>A short name of the backend and its transport, for logs (e.g. <c>single-process</c>, <c>open-mpi 4.1.4</c>).</summary>
    string Description { get; }

    /// <summary>Combines <paramref name="values"/> element-wise over all processes, in place.</summary>
    /// <param name="values">This process's values; the result on return. The same length on every process.</param>
    /// <param name="op">How to combine.</param>
    void AllReduce(Span<float> values, ReduceOp op);

    /// <summary>Combines <paramref name="values"/> element-wise over all processes, in place.</summary>
    /// <param name="values">This process's values; the result on return. The same length on every process.</param>
    /// <param name="op">How to combine.</param>
    void AllReduce(Span<double> values, ReduceOp op);

    /// <summary>Combines <paramref name="values"/> element-wise over all processes, in place (exact for integers).</summary>
    /// <param name="values">This process's values; the result on return. The same length on every process.</param>
    /// <param name="op">How to combine.</param>
    void AllReduce(Span<long> values, ReduceOp op);

    /// <summary>Copies <paramref name="bytes"/> of process <paramref name="root"/> to every process.</summary>
    /// <param name="bytes">The root's data; overwritten elsewhere. The same length on every process.</param>
    /// <param name="root">The sending process.</param>
    void Broadcast(Span<byte> bytes, int root);

    /// <summary>Returns when every process has called it.</summary>
    void Barrier();

    /// <summary>Ends every process of the job with <paramref name="exitCode"/> (does not return).</summary>
    /// <param name="exitCode">The job's exit code.</param>
    void Abort(int exitCode);
}
