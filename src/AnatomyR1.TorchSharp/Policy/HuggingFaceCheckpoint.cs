using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The weights of a Hugging Face model folder: <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c> lists. Every file is opened and its header validated up front
/// (<see cref="SafeTensorsFile"/>); tensors are read one at a time, so loading a model costs about the model plus one
/// tensor, never the checkpoint twice.
/// </summary>
/// <remarks>
/// <para>
/// An index (itself a file inside the folder) is checked strictly: <c>weight_map</c> is an object of tensor name →
/// shard file; every shard is a
/// relative path inside the folder (no <c>..</c> segment, no absolute path) that exists, and whose real location,
/// symbolic links resolved, is inside the folder's real location too; every tensor the map lists is in its shard, and
/// a shard's tensor that the map does not list (or lists for another shard) is an error. Shards the map does not
/// mention are not opened. When both files exist, <c>model.safetensors</c> is used, as transformers does.
/// </para>
/// <para>
/// The Hugging Face hub's cache keeps a snapshot's files as symbolic links into a sibling <c>blobs</c> folder; open
/// such a snapshot with <c>allowLinksOutsideFolder: true</c> (or copy the files into a plain folder).
/// </para>
/// </remarks>
public sealed class HuggingFaceCheckpoint : IDisposable
{
    /// <summary>The single-file weights' name.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The shard index's name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const int ListedNames = 10;

    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _fileOf;
    private bool _disposed;

    private HuggingFaceCheckpoint(string folder, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> fileOf)
    {
        Folder = folder;
        _files = files;
        _fileOf = fileOf;
        Names = fileOf.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The model folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The weight files in use (full paths): the single file, or the shards in first-listed order.</summary>
    public IReadOnlyList<string> Files => _files.Select(f => f.Path).ToArray();

    /// <summary>Every tensor's name, in ordinal order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens a model folder's weights and validates the index and every file's header.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="allowLinksOutsideFolder">
    /// Accept weight files that are symbolic links to places outside the folder (the hub cache's layout). Relative
    /// paths in the index must still stay inside the folder. Default false.
    /// </param>
    /// <returns>The open checkpoint (the caller disposes it).</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has neither weights file, or a shard the index lists is missing.</exception>
    /// <exception cref="InvalidDataException">The index is malformed, points outside the folder, or disagrees with the shards.</exception>
    /// <exception cref="SafeTensorsFormatException">A weights file breaks the safetensors format.</exception>
    public static HuggingFaceCheckpoint Open(string folder, bool allowLinksOutsideFolder = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Model folder '{root}' does not exist.");
        }

        string single = Path.Combine(root, WeightsFileName);
        string index = Path.Combine(root, IndexFileName);
        if (File.Exists(single))
        {
            CheckInside(root, single, WeightsFileName, allowLinksOutsideFolder, single);
            var file = SafeTensorsFile.Open(single);
            return new HuggingFaceCheckpoint(root, new List<SafeTensorsFile> { file }, file.Names.ToDictionary(n => n, _ => file, StringComparer.Ordinal));
        }

        if (!File.Exists(index))
        {
            throw new FileNotFoundException($"Model folder '{root}' has neither {WeightsFileName} nor {IndexFileName}.", single);
        }

        CheckInside(root, index, IndexFileName, allowLinksOutsideFolder, index);
        return OpenSharded(root, index, allowLinksOutsideFolder);
    }

    /// <summary>Whether the checkpoint has a tensor of this name.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>True when present.</returns>
    public bool Contains(string name) => _fileOf.ContainsKey(name);

    /// <summary>Looks up a tensor's dtype, shape and byte range.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="info">Its description, when present.</param>
    /// <returns>True when present.</returns>
    public bool TryGetInfo(string name, [MaybeNullWhen(false)] out SafeTensorInfo info)
    {
        info = null;
        return _fileOf.TryGetValue(name, out var file) && file.TryGetInfo(name, out info);
    }

    /// <summary>A tensor's dtype, shape and byte range.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>Its description.</returns>
    /// <exception cref="KeyNotFoundException">The checkpoint has no such tensor.</exception>
    public SafeTensorInfo Info(string name) => FileFor(name).Info(name);

    /// <summary>The file that holds a tensor.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>The file's full path.</returns>
    /// <exception cref="KeyNotFoundException">The checkpoint has no such tensor.</exception>
    public string FileOf(string name) => FileFor(name).Path;

    /// <summary>Reads one tensor, converted to a dtype, on a device (see <see cref="SafeTensorsFile.Read"/>).</summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="dtype">The dtype of the result.</param>
    /// <param name="device">The device of the result (default CPU).</param>
    /// <returns>The tensor (the caller disposes it).</returns>
    /// <exception cref="KeyNotFoundException">The checkpoint has no such tensor.</exception>
    public Tensor Read(string name, ScalarType dtype, Device? device = null) => FileFor(name).Read(name, dtype, device);

    /// <summary>
    /// Copies every checkpoint tensor into the module parameter or persistent buffer that
    /// <paramref name="mapCheckpointName"/> names, converting to that tensor's dtype and device, one tensor at a time
    /// under <c>no_grad</c> (a contiguous CPU parameter of the file's dtype is filled in place, with no intermediate
    /// copy). Loading is strict and checked before anything is copied: module tensors left unfilled (except
    /// <paramref name="optionalModuleNames"/>), checkpoint tensors whose mapped name the module does not have, two
    /// checkpoint tensors mapped to one module tensor, and shape mismatches are one error that lists them.
    /// </summary>
    /// <param name="module">The module (its <c>state_dict</c> names are the targets).</param>
    /// <param name="mapCheckpointName">
    /// Checkpoint name → module name (for example <c>QwenCheckpointNames.ToCanonical</c>); return null to skip a
    /// checkpoint tensor deliberately.
    /// </param>
    /// <param name="optionalModuleNames">Module tensors that may stay as they are (for example a tied output head).</param>
    /// <param name="onTensorLoaded">Called after each tensor is copied, with its checkpoint and module names.</param>
    /// <exception cref="InvalidDataException">The checkpoint does not fit the module; the message lists the first names of each problem and their count.</exception>
    /// <exception cref="SafeTensorsFormatException">A file changed on disk since it was opened.</exception>
    public void LoadInto(nn.Module module, Func<string, string?> mapCheckpointName, IReadOnlySet<string>? optionalModuleNames = null, Action<string, string>? onTensorLoaded = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(mapCheckpointName);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var targets = module.state_dict();
        var plan = new List<(string Checkpoint, string Module)>();
        var assigned = new Dictionary<string, string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var doubled = new List<string>();
        var misshaped = new List<string>();
        foreach (string name in Names)
        {
            string? mapped = mapCheckpointName(name);
            if (mapped is null)
            {
                continue;
            }

            if (!targets.TryGetValue(mapped, out var target))
            {
                unexpected.Add(mapped == name ? $"'{name}'" : $"'{name}' (as '{mapped}')");
                continue;
            }

            if (!assigned.TryAdd(mapped, name))
            {
                doubled.Add($"'{assigned[mapped]}' and '{name}' both map to '{mapped}'");
                continue;
            }

            var info = Info(name);
            if (!info.Shape.SequenceEqual(target.shape))
            {
                misshaped.Add($"tensor '{name}' in {FileOf(name)} has shape [{string.Join(", ", info.Shape)}], the model's '{mapped}' is [{string.Join(", ", target.shape)}]");
                continue;
            }

            plan.Add((name, mapped));
        }

        var missing = targets.Keys
            .Where(k => !assigned.ContainsKey(k) && !(optionalModuleNames?.Contains(k) ?? false))
            .OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => $"'{k}'")
            .ToList();
        var problems = new List<string>();
        AddProblem(problems, "missing tensor(s)", missing);
        AddProblem(problems, "unexpected tensor(s) the model does not have", unexpected);
        AddProblem(problems, "tensors mapped twice", doubled);
        AddProblem(problems, "shape mismatch(es)", misshaped);
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{Folder}: the checkpoint does not fit the model: {string.Join("; ", problems)}.");
        }

        using (no_grad())
        {
            foreach (var (checkpointName, moduleName) in plan)
            {
                _fileOf[checkpointName].ReadInto(checkpointName, targets[moduleName]);
                onTensorLoaded?.Invoke(checkpointName, moduleName);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            foreach (var file in _files)
            {
                file.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Folder} ({Names.Count} tensors in {_files.Count} file(s))";

    private SafeTensorsFile FileFor(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _fileOf.TryGetValue(name, out var file)
            ? file
            : throw new KeyNotFoundException($"{Folder}: the checkpoint has no tensor '{name}'.");
    }

    private static void AddProblem(List<string> problems, string what, List<string> names)
    {
        if (names.Count > 0)
        {
            string more = names.Count > ListedNames ? $" and {names.Count - ListedNames} more" : string.Empty;
            problems.Add($"{what} {string.Join(", ", names.Take(ListedNames))}{more} ({names.Count} in all)");
        }
    }

    private static HuggingFaceCheckpoint OpenSharded(string root, string index, bool allowLinksOutsideFolder)
    {
        var map = ReadWeightMap(index);
        var files = new List<SafeTensorsFile>();
        var byShard = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in map.Values.Distinct(StringComparer.Ordinal))
            {
                string path = ShardPath(root, index, shard);
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"{index}: shard '{shard}' does not exist in '{root}'.", path);
                }

                CheckInside(root, path, shard, allowLinksOutsideFolder, index);
                var file = SafeTensorsFile.Open(path);
                files.Add(file);
                byShard[shard] = file;
            }

            var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var absent = new List<string>();
            foreach (var (name, shard) in map)
            {
                if (byShard[shard].Contains(name))
                {
                    fileOf[name] = byShard[shard];
                }
                else
                {
                    absent.Add($"'{name}' (in '{shard}')");
                }
            }

            var unlisted = new List<string>();
            foreach (var (shard, file) in byShard)
            {
                foreach (string name in file.Names)
                {
                    if (!map.TryGetValue(name, out string? listed))
                    {
                        unlisted.Add($"'{name}' (in '{shard}')");
                    }
                    else if (listed != shard)
                    {
                        unlisted.Add($"'{name}' (in '{shard}', listed for '{listed}')");
                    }
                }
            }

            var problems = new List<string>();
            AddProblem(problems, "tensor(s) the index lists but their shard lacks", absent);
            AddProblem(problems, "tensor(s) in shards that the index does not list there", unlisted);
            if (problems.Count > 0)
            {
                throw new InvalidDataException($"{index}: the index and its shards disagree: {string.Join("; ", problems)}.");
            }

            return new HuggingFaceCheckpoint(root, files, fileOf);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(index));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{index}: not valid JSON ({ex.Message}).", ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{index}: the index is not a JSON object.");
            }

            JsonElement? weightMap = null;
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "weight_map")
                {
                    weightMap = weightMap is null ? property.Value : throw new InvalidDataException($"{index}: 'weight_map' appears twice.");
                }
            }

            if (weightMap is not { ValueKind: JsonValueKind.Object } entries)
            {
                throw new InvalidDataException($"{index}: field 'weight_map' is missing or not an object of tensor name → shard file.");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in entries.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString() is not { Length: > 0 } shard)
                {
                    throw new InvalidDataException($"{index}: weight_map entry '{entry.Name}' is not a shard file name.");
                }

                if (!map.TryAdd(entry.Name, shard))
                {
                    throw new InvalidDataException($"{index}: weight_map lists tensor '{entry.Name}' twice.");
                }
            }

            if (map.Count == 0)
            {
                throw new InvalidDataException($"{index}: weight_map lists no tensors.");
            }

            return map;
        }
    }

    private static string ShardPath(string root, string index, string shard)
    {
        if (Path.IsPathRooted(shard) || shard.Contains(':', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{index}: shard '{shard}' is an absolute path; shards are files inside the model folder.");
        }

        if (shard.Split('/', '\\').Any(part => part == ".."))
        {
            throw new InvalidDataException($"{index}: shard '{shard}' climbs out of the model folder ('..').");
        }

        string path = Path.GetFullPath(Path.Combine(root, shard));
        if (!IsUnder(root, path))
        {
            throw new InvalidDataException($"{index}: shard '{shard}' is outside the model folder.");
        }

        return path;
    }

    private static void CheckInside(string root, string path, string shown, bool allowLinksOutsideFolder, string source)
    {
        if (allowLinksOutsideFolder)
        {
            return;
        }

        string realRoot = RealPath(root);
        string realPath = RealPath(path);
        if (!IsUnder(realRoot, realPath))
        {
            throw new InvalidDataException($"{source}: '{shown}' is a link to '{realPath}', outside the model folder '{realRoot}' (pass allowLinksOutsideFolder to accept it).");
        }
    }

    private static bool IsUnder(string folder, string path)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string prefix = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    /// <summary>The path with every symbolic link along it resolved.</summary>
    private static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
        {
            throw new InvalidDataException($"Too many levels of symbolic links resolving '{path}'.");
        }

        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full) ?? string.Empty;
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : RealPath(target.FullName, depth + 1);
            }

            current = next;
        }

        return current;
    }
}
