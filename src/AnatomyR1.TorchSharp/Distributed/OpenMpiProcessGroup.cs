using System.Runtime.InteropServices;
using System.Text;

namespace AnatomyR1.TorchSharp.Distributed;

/// <summary>
/// <see cref="IProcessGroup"/> over Open MPI 4.x (<c>libmpi.so.40</c>, Debian's <c>openmpi-bin</c>): the processes of
/// <c>MPI_COMM_WORLD</c> as started by <c>mpirun</c>. A direct binding of the few C functions used (init, rank, size,
/// allreduce, broadcast, barrier, abort, finalize); Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>,
/// <c>MPI_SUM</c>, …) are the addresses of exported symbols (<c>ompi_mpi_comm_world</c>, …), which is Open MPI's ABI
/// (MPICH and MS-MPI use integer handles and are not supported).
/// </summary>
/// <remarks>
/// Only one instance per process (MPI is initialised once); <see cref="ProcessGroups.FromEnvironment"/> creates it when
/// the process was started by <c>mpirun</c>. Disposing finalises MPI when this instance initialised it. MPI's default
/// error handler stays in place: a failed MPI call ends the job with Open MPI's message.
/// </remarks>
public sealed class OpenMpiProcessGroup : IProcessGroup
{
    private const string Library = "libmpi.so.40";
    private const int ThreadSerialized = 2;
    private const int MaxChunk = 1 << 28;
    private static readonly IntPtr InPlace = new(1);
    private static readonly object Gate = new();
    private static OpenMpiProcessGroup? _instance;

    private readonly IntPtr _world;
    private readonly IntPtr _float;
    private readonly IntPtr _double;
    private readonly IntPtr _long;
    private readonly IntPtr _byte;
    private readonly IntPtr _sum;
    private readonly IntPtr _max;
    private readonly IntPtr _min;
    private readonly bool _initialisedHere;
    private bool _disposed;

    private OpenMpiProcessGroup(IntPtr library)
    {
        IntPtr Symbol(string name) => NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new DllNotFoundException($"{Library} has no symbol '{name}': this is not Open MPI 4.x (MPICH and MS-MPI have another ABI).");

        _world = Symbol("ompi_mpi_comm_world");
        _float = Symbol("ompi_mpi_float");
        _double = Symbol("ompi_mpi_double");
        _long = Symbol("ompi_mpi_long_long_int");
        _byte = Symbol("ompi_mpi_byte");
        _sum = Symbol("ompi_mpi_op_sum");
        _max = Symbol("ompi_mpi_op_max");
        _min = Symbol("ompi_mpi_op_min");
        Check(Native.MPI_Initialized(out int initialised), "MPI_Initialized");
        if (initialised == 0)
        {
            Check(Native.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, ThreadSerialized, out _), "MPI_Init_thread");
            _initialisedHere = true;
        }

        Check(Native.MPI_Comm_rank(_world, out int rank), "MPI_Comm_rank");
        Check(Native.MPI_Comm_size(_world, out int size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        var version = new byte[512];
        int length = 0;
        string text = Native.MPI_Get_library_version(version, ref length) == 0
            ? Encoding.ASCII.GetString(version, 0, Math.Clamp(length, 0, version.Length)).Split(',')[0].Trim()
            : "Open MPI";
        Description = $"{text}, {size} processes";
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>The group <see cref="World"/> created in this process, while it is not disposed; otherwise null.</summary>
    public static OpenMpiProcessGroup? Current
    {
        get
        {
            lock (Gate)
            {
                return _instance is { _disposed: false } ? _instance : null;
            }
        }
    }

    /// <summary>Whether Open MPI's library can be loaded on this machine (it is installed).</summary>
    public static bool IsAvailable => TryLoad(out _, out _);

    /// <summary>Initialises MPI (once per process) and returns the group of <c>MPI_COMM_WORLD</c>.</summary>
    /// <returns>The group; later calls return the same instance until it is disposed.</returns>
    /// <exception cref="DllNotFoundException">Open MPI 4.x is not installed; the message says what to install.</exception>
    public static OpenMpiProcessGroup World()
    {
        lock (Gate)
        {
            if (_instance is { _disposed: false })
            {
                return _instance;
            }

            if (!TryLoad(out var library, out string? problem))
            {
                throw new DllNotFoundException(problem);
            }

            _instance = new OpenMpiProcessGroup(library);
            return _instance;
        }
    }

    /// <inheritdoc />
    public void AllReduce(Span<float> values, ReduceOp op) => Reduce(MemoryMarshal.AsBytes(values), values.Length, sizeof(float), _float, op);

    /// <inheritdoc />
    public void AllReduce(Span<double> values, ReduceOp op) => Reduce(MemoryMarshal.AsBytes(values), values.Length, sizeof(double), _double, op);

    /// <inheritdoc />
    public void AllReduce(Span<long> values, ReduceOp op) => Reduce(MemoryMarshal.AsBytes(values), values.Length, sizeof(long), _long, op);

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes, int root)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (root < 0 || root >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"There are {Size} processes.");
        }

        for (int start = 0; start < bytes.Length; start += MaxChunk)
        {
            var chunk = bytes.Slice(start, Math.Min(MaxChunk, bytes.Length - start));
            Check(Native.MPI_Bcast(ref MemoryMarshal.GetReference(chunk), chunk.Length, _byte, root, _world), "MPI_Bcast");
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(Native.MPI_Barrier(_world), "MPI_Barrier");
    }

    /// <inheritdoc />
    public void Abort(int exitCode)
    {
        Native.MPI_Abort(_world, exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>Finalises MPI when this instance initialised it (no collective may follow).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_initialisedHere && Native.MPI_Finalized(out int finalised) == 0 && finalised == 0)
            {
                Native.MPI_Finalize();
            }
        }
    }

    private void Reduce(Span<byte> bytes, int count, int elementSize, IntPtr type, ReduceOp op)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var handle = op switch
        {
            ReduceOp.Sum => _sum,
            ReduceOp.Max => _max,
            ReduceOp.Min => _min,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduction."),
        };
        for (int start = 0; start < count; start += MaxChunk)
        {
            int n = Math.Min(MaxChunk, count - start);
            var chunk = bytes.Slice(start * elementSize, n * elementSize);
            Check(Native.MPI_Allreduce(InPlace, ref MemoryMarshal.GetReference(chunk), n, type, handle, _world), "MPI_Allreduce");
        }
    }

    private static void Check(int code, string function)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{function} failed with MPI error code {code}.");
        }
    }

    /// <summary>
    /// Loads libmpi with RTLD_GLOBAL: Open MPI's components are plugins that resolve libmpi's symbols from the global
    /// namespace, which the runtime's default (local) loading would hide from them.
    /// </summary>
    private static bool TryLoad(out IntPtr library, out string? problem)
    {
        library = IntPtr.Zero;
        problem = null;
        if (!OperatingSystem.IsLinux())
        {
            problem = "The Open MPI binding supports Linux only.";
            return false;
        }

        try
        {
            const int RtldNow = 2, RtldGlobal = 0x100;
            IntPtr handle;
            try
            {
                handle = Native.dlopen(Library, RtldNow | RtldGlobal);
            }
            catch (EntryPointNotFoundException)
            {
                // glibc before 2.34 keeps dlopen in libdl.
                handle = Native.dlopenLegacy(Library, RtldNow | RtldGlobal);
            }

            if (handle == IntPtr.Zero)
            {
                problem = $"Open MPI's {Library} could not be loaded: install Open MPI 4.x (Debian: apt-get install openmpi-bin).";
                return false;
            }

            library = NativeLibrary.Load(Library);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            problem = $"Open MPI's {Library} could not be loaded ({ex.Message}): install Open MPI 4.x (Debian: apt-get install openmpi-bin).";
            return false;
        }
    }

    private static class Native
    {
        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
        internal static extern IntPtr dlopen(string file, int mode);

        [DllImport("libdl.so.2", EntryPoint = "dlopen", CharSet = CharSet.Ansi, BestFitMapping = false)]
        internal static extern IntPtr dlopenLegacy(string file, int mode);

        [DllImport(Library)]
        internal static extern int MPI_Initialized(out int flag);

        [DllImport(Library)]
        internal static extern int MPI_Finalized(out int flag);

        [DllImport(Library)]
        internal static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);

        [DllImport(Library)]
        internal static extern int MPI_Finalize();

        [DllImport(Library)]
        internal static extern int MPI_Comm_rank(IntPtr comm, out int rank);

        [DllImport(Library)]
        internal static extern int MPI_Comm_size(IntPtr comm, out int size);

        [DllImport(Library)]
        internal static extern int MPI_Get_library_version(byte[] version, ref int length);

        [DllImport(Library)]
        internal static extern int MPI_Allreduce(IntPtr send, ref byte receive, int count, IntPtr datatype, IntPtr op, IntPtr comm);

        [DllImport(Library)]
        internal static extern int MPI_Bcast(ref byte buffer, int count, IntPtr datatype, int root, IntPtr comm);

        [DllImport(Library)]
        internal static extern int MPI_Barrier(IntPtr comm);

        [DllImport(Library)]
        internal static extern int MPI_Abort(IntPtr comm, int errorCode);
    }
}
