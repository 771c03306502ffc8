using System.Globalization;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Distributed;

/// <summary>
/// Finding the job this process belongs to, and the collectives built on <see cref="IProcessGroup"/>'s primitives:
/// tensors, flags, and gathering small per-process arrays.
/// </summary>
public static class ProcessGroups
{
    /// <summary>Environment variable Open MPI's launcher sets to the number of processes.</summary>
    public const string OpenMpiSizeVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>
    /// The job this process was started in: <see cref="OpenMpiProcessGroup.World"/> when <c>mpirun</c> started it with
    /// more than one process (<c>OMPI_COMM_WORLD_SIZE</c> &gt; 1), otherwise <see cref="SingleProcessGroup.Instance"/>.
    /// </summary>
    /// <returns>The group (the Open MPI group is shared by the whole process).</returns>
    /// <exception cref="DllNotFoundException">Started by <c>mpirun</c> but Open MPI's library cannot be loaded.</exception>
    public static IProcessGroup FromEnvironment() => LaunchedProcesses > 1 ? OpenMpiProcessGroup.World() : SingleProcessGroup.Instance;

    /// <summary>The number of processes <c>mpirun</c> started (1 when it did not start this one).</summary>
    public static int LaunchedProcesses =>
        int.TryParse(Environment.GetEnvironmentVariable(OpenMpiSizeVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1;

    /// <summary>
    /// Sums a tensor over all processes, in place. A CPU tensor is reduced in its own memory when contiguous; other
    /// tensors (another device, a view) go through a contiguous CPU copy that is written back.
    /// </summary>
    /// <param name="group">The job.</param>
    /// <param name="tensor">A float32 or float64 tensor of the same shape on every process.</param>
    /// <param name="op">How to combine.</param>
    public static void AllReduce(this IProcessGroup group, Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(tensor);
        if (group.Size == 1)
        {
            return;
        }

        if (tensor.dtype != ScalarType.Float32 && tensor.dtype != ScalarType.Float64)
        {
            throw new ArgumentException($"Only float32 and float64 tensors are reduced (got {tensor.dtype}).", nameof(tensor));
        }

        bool direct = tensor.device_type == global::TorchSharp.DeviceType.CPU && tensor.is_contiguous();
        using var scope = NewDisposeScope();
        var buffer = direct ? null : tensor.detach().to(global::TorchSharp.DeviceType.CPU).contiguous();
        var flat = (buffer ?? tensor).view(-1);

        // Spans hold at most 2 GiB: reduce in slices of 1 GiB (a 3B model's gradients are 15 GB).
        long slice = (1L << 30) / (flat.dtype == ScalarType.Float32 ? sizeof(float) : sizeof(double));
        for (long start = 0; start < flat.numel(); start += slice)
        {
            var part = flat.narrow(0, start, Math.Min(slice, flat.numel() - start));
            var bytes = part.bytes;
            if (flat.dtype == ScalarType.Float32)
            {
                group.AllReduce(MemoryMarshal.Cast<byte, float>(bytes), op);
            }
            else
            {
                group.AllReduce(MemoryMarshal.Cast<byte, double>(bytes), op);
            }
        }

        if (buffer is not null)
        {
            using var noGrad = no_grad();
            tensor.copy_(buffer);
        }
    }

    /// <summary>Whether <paramref name="value"/> is true on at least one process.</summary>
    /// <param name="group">The job.</param>
    /// <param name="value">This process's flag.</param>
    /// <returns>The flag of the job.</returns>
    public static bool AnyProcess(this IProcessGroup group, bool value)
    {
        ArgumentNullException.ThrowIfNull(group);
        Span<long> flag = stackalloc long[] { value ? 1 : 0 };
        group.AllReduce(flag, ReduceOp.Max);
        return flag[0] != 0;
    }

    /// <summary>Whether <paramref name="value"/> is true on every process.</summary>
    /// <param name="group">The job.</param>
    /// <param name="value">This process's flag.</param>
    /// <returns>The flag of the job.</returns>
    public static bool AllProcesses(this IProcessGroup group, bool value)
    {
        ArgumentNullException.ThrowIfNull(group);
        Span<long> flag = stackalloc long[] { value ? 1 : 0 };
        group.AllReduce(flag, ReduceOp.Min);
        return flag[0] != 0;
    }

    /// <summary>
    /// Every process's slice of an array, on every process: each fills its own part of <paramref name="all"/> (the rest
    /// zeros) and the parts are summed, which is exact (x + 0 = x) for finite and non-finite values alike.
    /// </summary>
    /// <param name="group">The job.</param>
    /// <param name="all">The whole array, holding this process's values at its own positions and zeros elsewhere.</param>
    public static void GatherBySum(this IProcessGroup group, Span<double> all)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.AllReduce(all, ReduceOp.Sum);
    }
}
