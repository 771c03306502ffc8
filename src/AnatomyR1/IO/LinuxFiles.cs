using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AnatomyR1.IO;

/// <summary>The kinds of file a path can name.</summary>
internal enum FileKind
{
    Regular,
    Directory,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    SymbolicLink,
    Other,
}

/// <summary>A file's kind and size as the kernel reports them.</summary>
internal readonly record struct FileStatus(FileKind Kind, long Size);

/// <summary>
/// The file type, size and a non-blocking open, through glibc's (or musl's) <c>statx</c> and <c>open</c>, which .NET
/// does not expose: .NET reports a FIFO or a device as an ordinary empty file and blocks opening a FIFO that has no
/// writer. The <c>statx</c> buffer has one layout on every Linux architecture.
/// </summary>
internal static class LinuxFiles
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int ONonBlock = 0x800;
    private const int ONoCtty = 0x100;
    private const int OCloExec = 0x80000;

    private static int _available = OperatingSystem.IsLinux() ? 1 : 0;

    /// <summary>Whether the calls are available (Linux with a C library that has <c>statx</c>, glibc 2.28 or musl 1.2.5 and later).</summary>
    public static bool Available => Volatile.Read(ref _available) == 1;

    // O_NOFOLLOW is 0x8000 on ARM and POWER, 0x20000 on x86, RISC-V, s390x and LoongArch.
    private static int ONoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le
        ? 0x8000
        : 0x20000;

    /// <summary>The status of what a path names, following links; null with <paramref name="errno"/> when it fails (or when the call is unavailable, with errno 0).</summary>
    public static FileStatus? Stat(string path, out int errno) => Call(() => statx(AtFdCwd, path, 0, StatxType | StatxSize, out var buffer) == 0 ? buffer : (StatxBuffer?)null, out errno);

    /// <summary>The status of an open file.</summary>
    public static FileStatus? Stat(SafeFileHandle handle, out int errno)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            return Call(() => statx(fd, string.Empty, AtEmptyPath, StatxType | StatxSize, out var buffer) == 0 ? buffer : (StatxBuffer?)null, out errno);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Opens a file for reading without blocking on a FIFO, without following a link in the last component and
    /// without making a terminal the controlling one; null with <paramref name="errno"/> when it fails.
    /// </summary>
    public static SafeFileHandle? OpenForReading(string path, out int errno)
    {
        int fd = open(path, ONonBlock | ONoCtty | OCloExec | ONoFollow);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Opens a folder read-only (to flush its entries with <c>fsync</c>); null with <paramref name="errno"/> when it fails.</summary>
    public static SafeFileHandle? OpenFolder(string path, out int errno)
    {
        int fd = open(path, OCloExec);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static FileStatus? Call(Func<StatxBuffer?> call, out int errno)
    {
        errno = 0;
        if (!Available)
        {
            return null;
        }

        StatxBuffer? buffer;
        try
        {
            buffer = call();
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            Volatile.Write(ref _available, 0);
            return null;
        }

        if (buffer is not { } b)
        {
            errno = Marshal.GetLastPInvokeError();
            if (errno is 38 or 1)
            {
                // ENOSYS or EPERM: a kernel or a container filter without statx.
                Volatile.Write(ref _available, 0);
                errno = 0;
            }

            return null;
        }

        var kind = (b.Mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };
        return new FileStatus(kind, (long)Math.Min(b.Size, long.MaxValue));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out StatxBuffer buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    /// <summary>The start of <c>struct statx</c> (256 bytes on every architecture).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct StatxBuffer
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint Links;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        public ushort Spare;
        public ulong Inode;
        public ulong Size;
    }
}
