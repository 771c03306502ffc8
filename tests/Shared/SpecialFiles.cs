using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace AnatomyR1.Testing;

/// <summary>
/// FIFOs, sockets and a time limit, for tests of code that must refuse special files without reading them. Linked
/// into the test projects that need it.
/// </summary>
internal static class SpecialFiles
{
    /// <summary>How long a refusal may take before the test counts it as blocked.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <summary>Creates a FIFO (named pipe) with no writer: opening it for reading the ordinary way blocks.</summary>
    /// <param name="path">Where.</param>
    /// <returns>The path.</returns>
    public static string Fifo(string path)
    {
        if (mkfifo(path, 0x180) != 0)
        {
            throw new IOException($"mkfifo '{path}' failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        return path;
    }

    /// <summary>Creates a bound Unix domain socket file; dispose the socket to close it.</summary>
    /// <param name="path">Where.</param>
    /// <returns>The socket.</returns>
    public static Socket UnixSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Creates a sparse file of the given length: large on paper, nothing to read.</summary>
    /// <param name="path">Where.</param>
    /// <param name="length">Its length in bytes.</param>
    /// <returns>The path.</returns>
    public static string Sparse(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.SetLength(length);
        return path;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on another thread and returns what it threw (null when nothing) and how long it
    /// took; throws when it has not finished within <see cref="Limit"/> (it blocked, e.g. on a FIFO).
    /// </summary>
    /// <param name="action">The call.</param>
    /// <returns>The exception and the time taken.</returns>
    public static (Exception? Error, TimeSpan Elapsed) Run(Action action)
    {
        var clock = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            try
            {
                action();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });
        if (!task.Wait(Limit))
        {
            throw new TimeoutException($"The call did not return within {Limit.TotalSeconds} s: it blocked.");
        }

        return (task.Result, clock.Elapsed);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
