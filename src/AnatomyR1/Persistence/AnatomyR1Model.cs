using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using AnatomyR1.IO;

namespace AnatomyR1.Persistence;

/// <summary>
/// Saves and loads a fitted pipeline that mixes ML.NET's own transformers (image loading, resizing, pixel
/// extraction …) with AnatomyR1 components (<see cref="IPersistentComponent"/>: the similarity scorer, the policy).
/// Runs of ML.NET transformers are stored with <c>mlContext.Model.Save</c>; each AnatomyR1 component in its own
/// folder. The whole folder is written beside the destination and renamed into place, so a crash never leaves a
/// half-written model.
/// </summary>
/// <remarks>
/// Layout: <c>model.json</c> (the order of the parts), <c>input-schema.zip</c> (the schema the pipeline was fitted
/// on), <c>part-NN.zip</c> (ML.NET transformers) and <c>part-NN/</c> (components).
/// </remarks>
public static class AnatomyR1Model
{
    /// <summary>Name of the manifest file.</summary>
    public const string ManifestFile = "model.json";

    private const string SchemaFile = "input-schema.zip";
    private const string Format = "anatomy-r1-pipeline";

    /// <summary>Saves a fitted transformer or transformer chain.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The model (a chain may nest chains).</param>
    /// <param name="inputSchema">The schema the model was fitted on.</param>
    /// <param name="folder">Destination folder (replaced if it exists).</param>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string folder)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var parts = Flatten(model).ToList();
        IO.AtomicFile.WriteFolder(folder, staging =>
        {
            mlContext.Model.Save(new TransformerChain<ITransformer>(), inputSchema, Path.Combine(staging, SchemaFile));
            var manifest = new JsonArray();
            var schema = inputSchema;
            int index = 0;
            var run = new List<ITransformer>();
            var runSchema = schema;

            void FlushRun()
            {
                if (run.Count == 0)
                {
                    return;
                }

                string file = $"part-{index++:D2}.zip";
                try
                {
                    mlContext.Model.Save(new TransformerChain<ITransformer>(run.ToArray()), runSchema, Path.Combine(staging, file));
                }
                catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or ArgumentException)
                {
                    throw new InvalidOperationException($"The ML.NET transformers {string.Join(", ", run.Select(t => t.GetType().Name))} cannot be saved: {ex.Message}", ex);
                }

                manifest.Add(new JsonObject { ["kind"] = "ml.net", ["file"] = file });
                run.Clear();
            }

            foreach (var part in parts)
            {
                if (part is IPersistentComponent component)
                {
                    FlushRun();
                    string sub = $"part-{index++:D2}";
                    ComponentStore.Save(component, Path.Combine(staging, sub));
                    manifest.Add(new JsonObject { ["kind"] = "component", ["folder"] = sub });
                }
                else
                {
                    if (run.Count == 0)
                    {
                        runSchema = schema;
                    }

                    run.Add(part);
                }

                schema = part.GetOutputSchema(schema);
            }

            FlushRun();
            var root = new JsonObject { ["format"] = Format, ["format_version"] = 1, ["parts"] = manifest };
            File.WriteAllText(Path.Combine(staging, ManifestFile), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        });
    }

    /// <summary>Loads a model saved by <see cref="Save"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="inputSchema">The schema the model was fitted on.</param>
    /// <param name="device">Device for components that hold tensors: auto, cpu, cuda or cuda:N.</param>
    /// <returns>The chain of transformers, in their saved order.</returns>
    /// <exception cref="InvalidDataException">The folder is not a saved model, a part is damaged, or the manifest names a
    /// part outside the folder (an absolute path, <c>..</c>, or a symbolic link that points out of it) or a file that
    /// is not a regular one; the message names the file.</exception>
    public static TransformerChain<ITransformer> Load(MLContext mlContext, string folder, out DataViewSchema inputSchema, string device = "auto")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException($"'{folder}' is not a saved AnatomyR1 model: {ManifestFile} is missing.");
        }

        JsonArray parts;
        try
        {
            var root = JsonNode.Parse(ReadManifest(folder, manifestPath)) as JsonObject ?? throw new InvalidDataException($"{manifestPath}: not a JSON object.");
            if ((string?)root["format"] != Format)
            {
                throw new InvalidDataException($"{manifestPath}: field 'format' is '{root["format"]}', expected '{Format}'.");
            }

            parts = root["parts"] as JsonArray ?? throw new InvalidDataException($"{manifestPath}: field 'parts' is missing.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{manifestPath}: not valid JSON ({ex.Message}).", ex);
        }

        mlContext.Model.Load(PartPath(folder, manifestPath, "the input schema", SchemaFile, isFile: true), out inputSchema);
        var loaded = new List<ITransformer>();
        try
        {
            for (int i = 0; i < parts.Count; i++)
            {
                var part = parts[i] as JsonObject ?? throw new InvalidDataException($"{manifestPath}: parts[{i}] is not an object.");
                switch ((string?)part["kind"])
                {
                    case "ml.net":
                        string file = PartPath(folder, manifestPath, $"parts[{i}].file", (string?)part["file"], isFile: true);
                        var chain = mlContext.Model.Load(file, out _);
                        loaded.AddRange(Flatten(chain));
                        break;
                    case "component":
                        string sub = PartPath(folder, manifestPath, $"parts[{i}].folder", (string?)part["folder"], isFile: false);
                        loaded.Add(ComponentStore.Load<ITransformer>(new ComponentLoadContext(sub, mlContext, device)));
                        break;
                    default:
                        throw new InvalidDataException($"{manifestPath}: parts[{i}].kind is '{part["kind"]}', expected 'ml.net' or 'component'.");
                }
            }
        }
        catch
        {
            foreach (var t in loaded.OfType<IDisposable>())
            {
                t.Dispose();
            }

            throw;
        }

        return new TransformerChain<ITransformer>(loaded.ToArray());
    }

    /// <summary>
    /// The path of a part named by the manifest: a name inside the model folder (no absolute path, no <c>..</c>),
    /// which with its links resolved still lies inside the folder, and for a file a regular one.
    /// </summary>
    private static string PartPath(string folder, string manifestPath, string field, string? name, bool isFile)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new InvalidDataException($"{manifestPath}: {field} is missing.");
        }

        if (Path.IsPathRooted(name) || name.Split('/', '\\').Any(p => p == ".."))
        {
            throw new InvalidDataException($"{manifestPath}: {field} '{name}' points outside the model folder; parts are named relative to it.");
        }

        string path = Path.Combine(folder, name);
        try
        {
            return isFile
                ? SafeFile.Check(path, new SafeFileOptions { Root = folder, RootName = "the model folder", MaxBytes = long.MaxValue, What = "part" }).ResolvedPath
                : SafeFile.ResolveInside(path, folder, "the model folder", "part");
        }
        catch (FileRefusedException ex)
        {
            throw new InvalidDataException($"{manifestPath}: {field} names a part that {ex.Reason}.", ex);
        }
    }

    /// <summary>The manifest's text, read only when it is a regular file inside the folder (not a link out of it) of at most 16 MiB.</summary>
    private static string ReadManifest(string folder, string path)
    {
        try
        {
            var options = new SafeFileOptions { Root = folder, RootName = "the model folder", MaxBytes = 16 << 20, MaxBytesName = "the manifest limit", What = "manifest" };
            return System.Text.Encoding.UTF8.GetString(SafeFile.ReadAllBytes(path, options)).TrimStart('\uFEFF');
        }
        catch (FileRefusedException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Reason}.", ex);
        }
    }

    /// <summary>The transformers of a model in order, with nested chains expanded.</summary>
    /// <param name="model">A transformer or chain.</param>
    /// <returns>The transformers.</returns>
    public static IEnumerable<ITransformer> Flatten(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var t in chain)
            {
                foreach (var inner in Flatten(t))
                {
                    yield return inner;
                }
            }
        }
        else
        {
            yield return model;
        }
    }
}
