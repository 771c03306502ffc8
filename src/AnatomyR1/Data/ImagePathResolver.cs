using System.Collections.Concurrent;
using AnatomyR1.IO;

namespace AnatomyR1.Data;

/// <summary>
/// Turns an image path as written in a data file into the path to open: trims whitespace, applies the first
/// matching <see cref="ImagePathPrefixMap"/>, joins the result to the image root and refuses paths that leave it,
/// through <c>..</c> or through a symbolic link (links are resolved before the comparison; a link that stays inside
/// the root is fine). Without a root, absolute paths stay as written and relative ones are joined to the base
/// folder, if any.
/// </summary>
public sealed class ImagePathResolver
{
    private readonly string? _root;
    private readonly string? _baseDirectory;
    private readonly IReadOnlyList<ImagePathPrefixMap> _maps;

    // Folders with their links resolved: image paths share a few folders, so each is resolved once.
    private readonly ConcurrentDictionary<string, string> _realFolders = new(StringComparer.Ordinal);

    /// <summary>Creates a resolver.</summary>
    /// <param name="imageRoot">Folder to resolve against and stay inside; null to keep absolute paths as written.</param>
    /// <param name="maps">Prefix rewrites, first match wins.</param>
    /// <param name="baseDirectory">Without a root: the folder relative paths are joined to; null keeps them relative.</param>
    public ImagePathResolver(string? imageRoot, IEnumerable<ImagePathPrefixMap>? maps = null, string? baseDirectory = null)
    {
        _root = string.IsNullOrWhiteSpace(imageRoot) ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(imageRoot.Trim()));
        _baseDirectory = string.IsNullOrWhiteSpace(baseDirectory) ? null : Path.GetFullPath(baseDirectory);
        _maps = maps?.ToArray() ?? Array.Empty<ImagePathPrefixMap>();
    }

    /// <summary>The absolute image root, or null.</summary>
    public string? Root => _root;

    /// <summary>Resolves one path.</summary>
    /// <param name="written">The path as written in the data.</param>
    /// <param name="resolved">The path to open.</param>
    /// <param name="error">Why the path is unusable, when the method returns false.</param>
    /// <returns>Whether the path is usable.</returns>
    public bool TryResolve(string written, out string resolved, out string? error)
    {
        resolved = string.Empty;
        error = null;
        string path = written.Trim();
        if (path.Length == 0)
        {
            error = "the image path is empty";
            return false;
        }

        foreach (var map in _maps)
        {
            if (path.StartsWith(map.From, StringComparison.Ordinal))
            {
                path = map.To + path[map.From.Length..];
                break;
            }
        }

        if (_root is null)
        {
            resolved = _baseDirectory is not null && !Path.IsPathRooted(path) ? Path.GetFullPath(Path.Combine(_baseDirectory, path)) : path;
            return true;
        }

        // With a root, every path is taken relative to it: a leading separator left by a prefix map is dropped.
        string relative = path.TrimStart('/', '\\');
        string full = Path.GetFullPath(Path.Combine(_root, relative));
        string rootWithSeparator = _root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            error = $"the image path '{written.Trim()}' resolves to '{full}', outside the image root '{_root}'";
            return false;
        }

        string real, realRoot;
        try
        {
            string folder = Path.GetDirectoryName(full)!;
            real = SafeFile.RealChild(_realFolders.GetOrAdd(folder, SafeFile.RealPath), Path.GetFileName(full));
            realRoot = _realFolders.GetOrAdd(_root, SafeFile.RealPath);
        }
        catch (FileRefusedException ex)
        {
            error = $"the image path '{written.Trim()}' {ex.Reason}";
            return false;
        }

        if (!SafeFile.IsInside(real, realRoot))
        {
            error = $"the image path '{written.Trim()}' resolves to '{full}', which {SafeFile.LinkPhrase(full)} '{real}', outside the image root '{_root}'{SafeFile.RootNote(_root, realRoot)}";
            return false;
        }

        resolved = full;
        return true;
    }
}
