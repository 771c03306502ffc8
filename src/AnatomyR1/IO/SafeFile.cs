using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace AnatomyR1.IO;

/// <summary>
/// Reads files whose paths come from input (image paths in data files, file paths in chat messages) without letting
/// such a path reach what it should not. Symbolic links are resolved before the path is compared with the folder it
/// must stay inside (a link inside that points outside is refused, naming the path and where it points; a link that
/// stays inside is fine); only regular files are read (a directory, FIFO, device or socket is refused by name,
/// without being read and without blocking); the size is compared with a limit before any byte is read.
/// </summary>
/// <remarks>
/// On Linux the type and size come from <c>statx</c> before the file is opened; the file is then opened
/// non-blocking without following a link in its last component, and its type and size are checked again on the open
/// file, so a file swapped for a FIFO or a link between the check and the open is refused too. Elsewhere (or where
/// <c>statx</c> is unavailable) .NET does not report a file's type: directories are refused, and so are empty files,
/// which is how FIFOs, devices and sockets appear there.
/// </remarks>
public static class SafeFile
{
    /// <summary>The default size limit: 256 MiB, more than any image within <c>PolicyImage.MaxPixels</c> (40 M pixels) takes even uncompressed.</summary>
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    // As Linux's limit on links followed in one path lookup.
    private const int MaxLinks = 40;

    private const int ENoEnt = 2;
    private const int EAcces = 13;
    private const int ENotDir = 20;
    private const int ELoop = 40;

    /// <summary>
    /// The absolute path with every symbolic link along it resolved, like <c>realpath</c>; a part that does not
    /// exist is kept as written. <c>..</c> is removed before links are resolved, as <see cref="Path.GetFullPath(string)"/> does.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <returns>The resolved path.</returns>
    /// <exception cref="FileRefusedException">More than 40 links are met (a loop).</exception>
    public static string RealPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        int links = 0;
        return Resolve(Path.GetFullPath(path), path, ref links);
    }

    /// <summary>
    /// Checks that a path stays inside a folder, both as written and with every symbolic link resolved, and returns
    /// the resolved path. Works for files and folders, existing or not.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="folder">The folder it must stay inside.</param>
    /// <param name="folderName">How messages call the folder (e.g. <c>the image root</c>).</param>
    /// <param name="what">How messages call the path (e.g. <c>image file</c>).</param>
    /// <returns>The path with every link resolved.</returns>
    /// <exception cref="FileRefusedException">The path leaves the folder, or links loop.</exception>
    public static string ResolveInside(string path, string folder, string folderName = "the allowed folder", string what = "file")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(path);
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!IsInside(full, root))
        {
            throw new FileRefusedException($"{what} '{path}'", path, full, $"is outside {folderName} '{root}'");
        }

        string realRoot = RealPath(root);
        string real = RealPath(full);
        if (!IsInside(real, realRoot))
        {
            throw new FileRefusedException($"{what} '{path}'", path, real, $"{LinkPhrase(full)} '{real}', outside {folderName} '{root}'{RootNote(root, realRoot)}");
        }

        return real;
    }

    /// <summary>
    /// Checks, without reading it, that a path names a regular file within the options' folder and size limit.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="options">The folder, the size limit and the names used in messages; null takes the defaults.</param>
    /// <returns>The path with every link resolved (the file to open) and the file's size.</returns>
    /// <exception cref="FileRefusedException">The file leaves the folder, is not a regular file, or is larger than the limit.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be accessed.</exception>
    public static (string ResolvedPath, long Length) Check(string path, SafeFileOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new SafeFileOptions();
        string real = options.Root is { Length: > 0 } root ? ResolveInside(path, root, options.RootName, options.What) : RealPath(path);
        return (real, CheckFile(path, real, options));
    }

    /// <summary>
    /// Reads a whole file after the checks of <see cref="Check"/>; the file opened is the one checked (its resolved
    /// path), and its type and size are checked again once it is open.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="options">The folder, the size limit and the names used in messages; null takes the defaults.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="FileRefusedException">The file leaves the folder, is not a regular file, or is larger than the limit.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static byte[] ReadAllBytes(string path, SafeFileOptions? options = null)
    {
        options ??= new SafeFileOptions();
        var (real, _) = Check(path, options);
        using var handle = Open(path, real, options);
        long length = CheckOpen(path, real, handle, options);
        if (length > Array.MaxLength)
        {
            throw new FileRefusedException($"{options.What} '{path}'", path, real, string.Create(CultureInfo.InvariantCulture, $"has {length:N0} bytes, more than one array holds"));
        }

        var bytes = new byte[length];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n == 0)
            {
                // The file shrank after the check; what is there is returned (a decoder reports it as truncated).
                Array.Resize(ref bytes, read);
                break;
            }

            read += n;
        }

        return bytes;
    }

    /// <summary>Whether <paramref name="path"/> lies strictly inside <paramref name="folder"/> (both absolute and normalised).</summary>
    internal static bool IsInside(string path, string folder)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string prefix = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    /// <summary>Resolves the last part of a path whose folder is already resolved (so that a caller can cache folders).</summary>
    /// <param name="realFolder">The folder, with every link resolved.</param>
    /// <param name="name">The file name.</param>
    /// <returns>The resolved path.</returns>
    internal static string RealChild(string realFolder, string name)
    {
        int links = 0;
        string path = Path.Join(realFolder, name);
        return FollowIfLink(path, realFolder, path, ref links);
    }

    /// <summary>How a message says that the path resolves elsewhere: the path is a link, or a folder above it is.</summary>
    internal static string LinkPhrase(string fullPath) =>
        new FileInfo(fullPath).LinkTarget is not null ? "is a symbolic link to" : "leads through a symbolic link to";

    /// <summary>The resolved root, when a link makes it differ from the root as given.</summary>
    internal static string RootNote(string root, string realRoot) => realRoot == root ? string.Empty : $" ('{realRoot}' with links resolved)";

    private static string Resolve(string full, string original, ref int links)
    {
        string root = Path.GetPathRoot(full) ?? string.Empty;
        string current = root;
        foreach (string part in full[root.Length..].Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries))
        {
            current = FollowIfLink(Path.Join(current, part), current, original, ref links);
        }

        return current;
    }

    private static string FollowIfLink(string path, string folder, string original, ref int links)
    {
        string? target = new FileInfo(path).LinkTarget;
        if (target is null)
        {
            return path;
        }

        if (++links > MaxLinks)
        {
            throw new FileRefusedException($"path '{original}'", original, path, $"goes through more than {MaxLinks} symbolic links (a loop?)");
        }

        // A relative target is relative to the folder holding the link.
        return Resolve(Path.GetFullPath(target, folder), original, ref links);
    }

    private static long CheckFile(string path, string real, SafeFileOptions options)
    {
        string subject = $"{options.What} '{path}'";
        string via = real == Path.GetFullPath(path) ? string.Empty : $"a link to '{real}', ";
        if (LinuxFiles.Stat(real, out int errno) is { } status)
        {
            return CheckStatus(status, subject, path, real, via, options);
        }

        if (errno != 0)
        {
            throw Failure(errno, subject, path, real, via);
        }

        // Without statx: what .NET reports.
        if (Directory.Exists(real))
        {
            throw new FileRefusedException(subject, path, real, $"is {via}a directory, not a regular file");
        }

        var info = new FileInfo(real);
        if (!info.Exists)
        {
            throw NotFound(subject, path, real, via);
        }

        return CheckStatus(new FileStatus(info.Length == 0 ? FileKind.Other : FileKind.Regular, info.Length), subject, path, real, via, options);
    }

    private static SafeFileHandle Open(string path, string real, SafeFileOptions options)
    {
        if (LinuxFiles.Available)
        {
            var handle = LinuxFiles.OpenForReading(real, out int errno);
            if (handle is not null)
            {
                return handle;
            }

            string subject = $"{options.What} '{path}'";
            throw errno == ELoop
                ? new FileRefusedException(subject, path, real, $"was replaced by a symbolic link to '{RealPath(real)}' while it was opened")
                : Failure(errno, subject, path, real, real == Path.GetFullPath(path) ? string.Empty : $"a link to '{real}', ");
        }

        return File.OpenHandle(real, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    private static long CheckOpen(string path, string real, SafeFileHandle handle, SafeFileOptions options)
    {
        string subject = $"{options.What} '{path}'";
        string via = real == Path.GetFullPath(path) ? string.Empty : $"a link to '{real}', ";
        var status = LinuxFiles.Stat(handle, out _) ?? new FileStatus(FileKind.Regular, RandomAccess.GetLength(handle));
        return CheckStatus(status, subject, path, real, via, options);
    }

    private static long CheckStatus(FileStatus status, string subject, string path, string real, string via, SafeFileOptions options)
    {
        string? kind = status.Kind switch
        {
            FileKind.Regular => null,
            FileKind.Directory => "a directory",
            FileKind.Fifo => "a FIFO (named pipe)",
            FileKind.CharacterDevice => "a character device",
            FileKind.BlockDevice => "a block device",
            FileKind.Socket => "a socket",
            FileKind.SymbolicLink => "a symbolic link",
            _ => "empty or not a regular file (a FIFO, a device or a socket)",
        };
        if (kind is not null)
        {
            throw new FileRefusedException(subject, path, real, status.Kind == FileKind.Other ? $"is {via}{kind}" : $"is {via}{kind}, not a regular file");
        }

        if (status.Size > options.MaxBytes)
        {
            throw new FileRefusedException(subject, path, real,
                string.Create(CultureInfo.InvariantCulture, $"has {status.Size:N0} bytes, more than {options.MaxBytesName} = {options.MaxBytes:N0}; it was not read"));
        }

        return status.Size;
    }

    private static Exception Failure(int errno, string subject, string path, string real, string via) => errno switch
    {
        ENoEnt or ENotDir => NotFound(subject, path, real, via),
        EAcces => new UnauthorizedAccessException($"The {subject} cannot be read: permission denied."),
        ELoop => new FileRefusedException(subject, path, real, $"goes through more than {MaxLinks} symbolic links (a loop?)"),
        _ => new IOException($"The {subject} cannot be read: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}."),
    };

    private static FileNotFoundException NotFound(string subject, string path, string real, string via) =>
        new(via.Length == 0 ? $"The {subject} does not exist." : $"The {subject} is a link to '{real}', which does not exist.", path);
}
