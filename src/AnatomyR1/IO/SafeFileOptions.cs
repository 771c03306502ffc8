namespace AnatomyR1.IO;

/// <summary>What <see cref="SafeFile"/> enforces for one file and how its messages name things. Every property has a documented default.</summary>
public sealed record SafeFileOptions
{
    /// <summary>
    /// The folder the file must stay inside, compared after every symbolic link in both paths is resolved; null
    /// allows any folder. Default null.
    /// </summary>
    public string? Root { get; init; }

    /// <summary>How messages call <see cref="Root"/>. Default <c>the allowed folder</c>.</summary>
    public string RootName { get; init; } = "the allowed folder";

    /// <summary>Largest file read, in bytes, checked before reading. Default <see cref="SafeFile.DefaultMaxBytes"/> (256 MiB).</summary>
    public long MaxBytes { get; init; } = SafeFile.DefaultMaxBytes;

    /// <summary>How messages call <see cref="MaxBytes"/> (the setting a user would change). Default <c>SafeFileOptions.MaxBytes</c>.</summary>
    public string MaxBytesName { get; init; } = "SafeFileOptions.MaxBytes";

    /// <summary>How messages call the file, before its path. Default <c>file</c>.</summary>
    public string What { get; init; } = "file";
}
