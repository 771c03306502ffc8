using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Runtime;

/// <summary>
/// Process-wide TorchSharp setup shared by the AnatomyR1 models and trainers: device selection, the CPU
/// thread count (set once: libtorch slows down badly when two workloads compete for few cores) and seeding.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static int? _threads;

    /// <summary>
    /// Parses a device specification: <c>auto</c> (CUDA when libtorch has it, else CPU), <c>cpu</c>,
    /// <c>cuda</c> or <c>cuda:N</c>.
    /// </summary>
    /// <param name="spec">The specification; case-insensitive, surrounding whitespace ignored.</param>
    /// <returns>The TorchSharp device.</returns>
    /// <exception cref="ArgumentException">The text is not one of the forms above (the message lists them).</exception>
    /// <exception cref="DeviceUnavailableException">CUDA was asked for and the loaded libtorch has no CUDA support (add a
    /// CUDA libtorch package to the application), or the index is beyond the visible devices.</exception>
    public static Device ResolveDevice(string? spec)
    {
        string text = (spec ?? "auto").Trim().ToLowerInvariant();
        if (text is "" or "auto")
        {
            return cuda.is_available() ? CUDA : CPU;
        }

        if (text == "cpu")
        {
            return CPU;
        }

        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (text.Length > 4 && (!int.TryParse(text.AsSpan(5), out index) || index < 0))
            {
                throw new ArgumentException($"Device '{spec}': the CUDA index must be a non-negative integer, e.g. cuda:0.", nameof(spec));
            }

            if (!cuda.is_available())
            {
                throw new DeviceUnavailableException(
                    $"Device '{spec}' asks for CUDA, but the loaded libtorch has no CUDA support. "
                    + "Reference a CUDA build of libtorch in the application, or use 'cpu'.");
            }

            if (index >= cuda.device_count())
            {
                throw new DeviceUnavailableException($"Device '{spec}': only {cuda.device_count()} CUDA device(s) are visible.");
            }

            return new Device(DeviceType.CUDA, index);
        }

        throw new ArgumentException($"Device '{spec}' is not recognised; valid spellings: auto, cpu, cuda, cuda:N (N = 0, 1, …).", nameof(spec));
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count once per process. Later calls with a different value are ignored
    /// (libtorch cannot change it reliably after work has started); the value in effect is returned.
    /// </summary>
    /// <param name="threads">Threads to use; 0 or less means the number of processor cores.</param>
    /// <returns>The thread count in effect.</returns>
    public static int EnsureThreads(int threads = 0)
    {
        lock (Gate)
        {
            if (_threads is int current)
            {
                return current;
            }

            int wanted = threads > 0 ? threads : Environment.ProcessorCount;
            torch.set_num_threads(wanted);
            _threads = wanted;
            return wanted;
        }
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count for the calling thread until the returned value is disposed, then restores
    /// the previous count: how one phase (generation) runs on other threads than the rest (training). Nothing changes
    /// for <paramref name="threads"/> ≤ 0.
    /// </summary>
    /// <param name="threads">Threads for the phase; 0 or less keeps the current setting.</param>
    /// <returns>The restorer (null when nothing changed).</returns>
    public static IDisposable? UseThreads(int threads)
    {
        if (threads <= 0)
        {
            return null;
        }

        int previous = torch.get_num_threads();
        if (previous == threads)
        {
            return null;
        }

        torch.set_num_threads(threads);
        return new ThreadRestorer(previous);
    }

    /// <summary>Seeds libtorch's generators (CPU and, when present, CUDA) for reproducible runs.</summary>
    /// <param name="seed">The seed.</param>
    public static void Seed(long seed)
    {
        torch.manual_seed(seed);
        if (cuda.is_available())
        {
            torch.cuda.manual_seed_all(seed);
        }
    }

    private sealed class ThreadRestorer(int previous) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (!_done)
            {
                _done = true;
                torch.set_num_threads(previous);
            }
        }
    }
}
