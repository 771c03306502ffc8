using System.Collections.Concurrent;
using System.Text.Json;
using AnatomyR1.Synthetic;

namespace AnatomyR1.Augmentation;

/// <summary>
/// Finds and reads the scene graph of a synthetic image: <c>images/scene-N.png</c> has its graph in
/// <c>scenes/scene-N.json</c> beside the <c>images</c> folder (as <see cref="SyntheticDatasetWriter"/> writes them).
/// Graphs are cached; an image without a graph file has none (null), a damaged file is an error naming it.
/// </summary>
public sealed class SceneGraphFiles
{
    private readonly ConcurrentDictionary<string, SceneGraph?> _cache = new(StringComparer.Ordinal);

    /// <summary>The graph of the scene an image shows, or null when there is no graph file.</summary>
    /// <param name="imagePath">The image path.</param>
    /// <returns>The graph.</returns>
    /// <exception cref="InvalidDataException">The graph file is malformed; the message names it.</exception>
    public SceneGraph? For(string imagePath)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        if (imagePath.Length == 0)
        {
            return null;
        }

        string? folder = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(imagePath)));
        if (folder is null)
        {
            return null;
        }

        string path = Path.Combine(folder, "scenes", Path.GetFileNameWithoutExtension(imagePath) + ".json");
        return _cache.GetOrAdd(path, p => File.Exists(p) ? Read(p) : null);
    }

    /// <summary>Reads a scene graph file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The graph.</returns>
    /// <exception cref="InvalidDataException">The file is malformed; the message names it and the field.</exception>
    public static SceneGraph Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var objects = new List<SceneObject>();
            int index = 0;
            foreach (var o in root.GetProperty("objects").EnumerateArray())
            {
                var kind = o.GetProperty("kind").GetString() switch
                {
                    "anatomy" => ObjectKind.Anatomy,
                    "instrument" => ObjectKind.Instrument,
                    var other => throw new InvalidDataException($"{path}: objects[{index}].kind is '{other}', expected 'anatomy' or 'instrument'."),
                };
                var box = o.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                if (box.Length != 4)
                {
                    throw new InvalidDataException($"{path}: objects[{index}].bbox has {box.Length} numbers, expected 4.");
                }

                objects.Add(new SceneObject(o.GetProperty("id").GetInt32(), kind, o.GetProperty("class").GetString() ?? string.Empty, o.GetProperty("colour").GetString() ?? string.Empty,
                    new GridCell(o.GetProperty("row").GetInt32(), o.GetProperty("col").GetInt32()), new PixelBox(box[0], box[1], box[2], box[3])));
                index++;
            }

            return new SceneGraph(root.GetProperty("scene_id").GetString() ?? string.Empty, root.GetProperty("size").GetInt32(), objects);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a scene graph ({ex.Message}).", ex);
        }
    }
}
