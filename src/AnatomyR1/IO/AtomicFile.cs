using System.Globalization;

namespace AnatomyR1.IO;

/// <summary>
/// Writes files (and whole folders) through a temporary sibling and a rename, so that a crash or Ctrl-C never leaves
/// a half-written result, model, checkpoint or dataset behind.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes text (UTF-8) atomically.</summary>
    /// <param name="path">The destination.</param>
    /// <param name="text">The content.</param>
    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    /// <summary>Writes bytes atomically.</summary>
    /// <param name="path">The destination.</param>
    /// <param name="bytes">The content.</param>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>Lets <paramref name="write"/> fill a temporary file, then renames it over <paramref name="path"/>.</summary>
    /// <param name="path">The destination.</param>
    /// <param name="write">Writes the content to the temporary path it is given.</param>
    public static void Write(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            write(temp);
            FlushFile(temp);
            File.Move(temp, full, overwrite: true);
            FlushDirectory(Path.GetDirectoryName(full)!);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Lets <paramref name="fill"/> build a folder beside <paramref name="folder"/>, then renames it into place. An
    /// existing destination is replaced only after the new folder is complete; on failure the partial folder is removed
    /// and the destination is left as it was.
    /// </summary>
    /// <param name="folder">The destination folder.</param>
    /// <param name="fill">Writes the content into the staging folder it is given.</param>
    /// <param name="overwrite">Whether an existing non-empty destination may be replaced.</param>
    /// <exception cref="IOException">The destination exists, is not empty and <paramref name="overwrite"/> is false.</exception>
    public static void WriteFolder(string folder, Action<string> fill, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(fill);
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!overwrite)
        {
            ThrowIfOccupied(target);
        }

        string suffix = Guid.NewGuid().ToString("N")[..8];
        string staging = target + ".partial-" + suffix;
        Directory.CreateDirectory(staging);
        try
        {
            fill(staging);

            // Every byte reaches the disk before the rename publishes the folder (and the rename itself is flushed), so
            // that a power cut cannot leave a published folder with empty or partial files.
            foreach (string file in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories))
            {
                FlushFile(file);
            }

            foreach (string sub in Directory.EnumerateDirectories(staging, "*", SearchOption.AllDirectories))
            {
                FlushDirectory(sub);
            }

            FlushDirectory(staging);
            string? backup = null;
            if (Directory.Exists(target))
            {
                backup = target + ".old-" + suffix;
                Directory.Move(target, backup);
            }
            else if (File.Exists(target))
            {
                File.Delete(target);
            }

            Directory.Move(staging, target);
            FlushDirectory(Path.GetDirectoryName(target)!);
            if (backup is not null)
            {
                Directory.Delete(backup, recursive: true);
            }
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }
    }

    /// <summary>Forces a file's content and metadata to the disk (fsync).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="IOException">The file cannot be opened or flushed.</exception>
    public static void FlushFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 1);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Forces a folder's entries (names created, renamed or removed in it) to the disk (fsync of the directory), on
    /// Linux; elsewhere a no-op.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <exception cref="IOException">The folder cannot be opened or flushed.</exception>
    public static void FlushDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var handle = LinuxFiles.OpenFolder(folder, out int errno)
            ?? throw new IOException($"Cannot open folder '{folder}' to flush it (errno {errno}).");
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Throws when <paramref name="folder"/> is a file or a non-empty folder (so a writer can fail before doing the work).</summary>
    /// <param name="folder">The destination.</param>
    /// <exception cref="IOException">The destination is occupied.</exception>
    public static void ThrowIfOccupied(string folder)
    {
        string target = Path.GetFullPath(folder);
        if (File.Exists(target) || Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException($"'{target}' already exists and is not empty; choose another folder or overwrite it.");
        }
    }
}
