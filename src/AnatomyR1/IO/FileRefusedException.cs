namespace AnatomyR1.IO;

/// <summary>
/// Thrown by <see cref="SafeFile"/> for a file it will not read: one that leaves the folder it must stay inside
/// (through <c>..</c> or a symbolic link), one that is not a regular file (a directory, a FIFO, a device, a socket),
/// or one larger than the size limit. The libraries' own callers turn it into the exception their callers expect
/// (<see cref="InvalidDataException"/>, <see cref="ArgumentException"/>, a data-file record error).
/// </summary>
public sealed class FileRefusedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="subject">How the file is called, with its path as given (e.g. <c>image file '/data/a.png'</c>).</param>
    /// <param name="path">The path as given.</param>
    /// <param name="resolvedPath">The path with every symbolic link resolved.</param>
    /// <param name="reason">Why the file is refused, as a predicate (e.g. <c>is a FIFO (named pipe), not a regular file</c>).</param>
    public FileRefusedException(string subject, string path, string resolvedPath, string reason)
        : base($"The {subject} {reason}.")
    {
        Path = path;
        ResolvedPath = resolvedPath;
        Reason = reason;
    }

    /// <summary>The path as given.</summary>
    public string Path { get; }

    /// <summary>The path with every symbolic link resolved (where a link points).</summary>
    public string ResolvedPath { get; }

    /// <summary>Why the file is refused, as a predicate that follows the file's name (no leading subject, no final period).</summary>
    public string Reason { get; }
}
