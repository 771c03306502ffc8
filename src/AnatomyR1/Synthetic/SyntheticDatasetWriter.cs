using System.Text.Json;
using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>What <see cref="SyntheticDatasetWriter.Write"/> produced.</summary>
/// <param name="Folder">The dataset folder.</param>
/// <param name="Scenes">Scenes written.</param>
/// <param name="Records">Question records written.</param>
/// <param name="RecordsPerSplit">Records in train.json, val.json and test.json.</param>
public sealed record SyntheticDatasetSummary(string Folder, int Scenes, int Records, IReadOnlyDictionary<string, int> RecordsPerSplit);

/// <summary>
/// Writes a synthetic dataset folder:
/// <c>train.json</c>, <c>val.json</c>, <c>test.json</c> (the Anatomy-R1 JSON format, with the reasoning trace in
/// <c>completion</c> and <c>scene_id</c>, <c>family</c>, <c>tier</c>, <c>visual_similarity</c> as extra keys),
/// <c>images/scene-NNNNNN.png</c> and <c>scenes/scene-NNNNNN.json</c> (scene graph and structured questions).
/// The folder is built beside the destination and renamed into place, so it is never left half-written.
/// </summary>
public static class SyntheticDatasetWriter
{
    /// <summary>The instruction prefix of every record (the question and options follow).</summary>
    public const string Instruction =
        "You are an expert in laparoscopic cholecystectomy. Look at the image and answer the question with the letter of the correct option.\n"
        + "Output the thinking process in <think> </think> and the final answer in <answer> </answer> tags, like this: <think> ... </think> <answer>X</answer>.";

    private const string SftInstruction =
        "<image>You are an expert in laparoscopic cholecystectomy. Look at the image and answer the question with the letter of the correct option.\n"
        + "Output the final answer in <answer> </answer> tags, like this: <answer>X</answer>.";

    /// <summary>The marker file that lets <c>overwrite</c> replace a folder: only folders this writer made carry it.</summary>
    public const string MarkerFile = ".anatomyr1-synthetic";

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>Generates and writes a dataset.</summary>
    /// <param name="folder">Destination folder; it must not exist unless <paramref name="overwrite"/> is set.</param>
    /// <param name="options">Generator options.</param>
    /// <param name="overwrite">Replace an existing folder, but only one this writer made (it holds <see cref="MarkerFile"/>) or an empty one.</param>
    /// <param name="progress">Receives the number of scenes finished so far.</param>
    /// <param name="cancellationToken">Stops the generation; nothing is left behind.</param>
    /// <returns>What was written.</returns>
    public static SyntheticDatasetSummary Write(string folder, SyntheticDatasetOptions options, bool overwrite = false,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(options);
        string target = Path.GetFullPath(folder);
        if (!overwrite)
        {
            IO.AtomicFile.ThrowIfOccupied(target);
        }
        else if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !WrittenByThisWriter(target))
        {
            // --overwrite replaces only a folder this writer made: anything else may be the user's data.
            throw new ArgumentException($"Refusing to replace '{target}': it is not empty and was not written by the synthetic dataset writer (no {MarkerFile} in it).", nameof(folder));
        }

        var scenes = SyntheticDatasetGenerator.Generate(options, progress, cancellationToken);
        var perSplit = new Dictionary<string, int>(StringComparer.Ordinal);
        IO.AtomicFile.WriteFolder(target, staging =>
        {
            File.WriteAllText(Path.Combine(staging, MarkerFile), "Written by the AnatomyR1 synthetic dataset writer; --overwrite may replace this folder.\n");
            Directory.CreateDirectory(Path.Combine(staging, "images"));
            Directory.CreateDirectory(Path.Combine(staging, "scenes"));
            Parallel.ForEach(scenes, new ParallelOptions { CancellationToken = cancellationToken }, scene =>
            {
                string id = scene.Layout.Graph.SceneId;
                File.WriteAllBytes(Path.Combine(staging, "images", id + ".png"), scene.Png);
                File.WriteAllBytes(Path.Combine(staging, "scenes", id + ".json"), SceneJson(scene));
            });

            foreach (string split in new[] { "train", "val", "test" })
            {
                var records = scenes.Where(s => s.Split == split).SelectMany(s => s.Records).OrderBy(r => r.Index).ToList();
                File.WriteAllBytes(Path.Combine(staging, split + ".json"), RecordsJson(records));
                perSplit[split] = records.Count;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }, overwrite);
        return new SyntheticDatasetSummary(target, scenes.Count, scenes.Sum(s => s.Records.Count), perSplit);
    }

    /// <summary>
    /// Whether a folder was made by this writer: it holds <see cref="MarkerFile"/>, or (folders written before the
    /// marker existed) exactly the writer's layout — <c>images/</c>, <c>scenes/</c> and the three split files, nothing else.
    /// </summary>
    private static bool WrittenByThisWriter(string folder)
    {
        if (File.Exists(Path.Combine(folder, MarkerFile)))
        {
            return true;
        }

        var entries = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return entries.SequenceEqual(new[] { "images", "scenes", "test.json", "train.json", "val.json" }, StringComparer.Ordinal)
            && Directory.Exists(Path.Combine(folder, "images")) && Directory.Exists(Path.Combine(folder, "scenes"));
    }

    /// <summary>The instruction text of a record: instruction, question and lettered options.</summary>
    /// <param name="prefix">The instruction prefix.</param>
    /// <param name="question">The question.</param>
    /// <param name="options">The options.</param>
    /// <returns>The full prompt.</returns>
    public static string Prompt(string prefix, string question, IReadOnlyList<string> options) =>
        prefix + "\nQuestion:\n" + question + "\nAnatomy Options:\n" + string.Join("\n", options.Select((o, i) => $"{(char)('A' + i)}. {o}"));

    /// <summary>Serialises records in the Anatomy-R1 JSON format.</summary>
    /// <param name="records">The records.</param>
    /// <returns>UTF-8 JSON.</returns>
    public static byte[] RecordsJson(IEnumerable<SyntheticRecord> records)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            w.WriteStartArray();
            foreach (var r in records)
            {
                w.WriteStartObject();
                w.WriteString("instruction", Prompt(Instruction, r.Question, r.Options));
                w.WriteString("sft_prompt", Prompt(SftInstruction, r.Question, r.Options));
                w.WriteString("solution", r.Letter.ToString());
                w.WriteString("answer", r.Target.Class);
                w.WriteString("images", "images/" + r.Scene.SceneId + ".png");
                w.WriteString("completion", r.Completion);
                w.WriteString("scene_id", r.Scene.SceneId);
                w.WriteString("family", r.Family.ToString());
                w.WriteString("tier", r.Tier.ToString().ToLowerInvariant());
                w.WriteNumber("visual_similarity", Math.Round(r.VisualSimilarityScore, 4));
                w.WriteBoolean("text_shortcut", r.TextShortcut);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return stream.ToArray();
    }

    /// <summary>Serialises a scene graph with its structured questions.</summary>
    /// <param name="scene">The scene.</param>
    /// <returns>UTF-8 JSON.</returns>
    public static byte[] SceneJson(SyntheticScene scene)
    {
        var graph = scene.Layout.Graph;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            w.WriteStartObject();
            w.WriteString("scene_id", graph.SceneId);
            w.WriteString("image", "images/" + graph.SceneId + ".png");
            w.WriteNumber("size", graph.Size);
            w.WriteString("split", scene.Split);
            w.WriteStartArray("objects");
            foreach (var o in graph.Objects)
            {
                w.WriteStartObject();
                w.WriteNumber("id", o.Id);
                w.WriteString("kind", o.Kind == ObjectKind.Anatomy ? "anatomy" : "instrument");
                w.WriteString("class", o.Class);
                w.WriteString("colour", o.Colour);
                w.WriteString("cell", o.Cell.Name);
                w.WriteNumber("row", o.Cell.Row);
                w.WriteNumber("col", o.Cell.Col);
                w.WriteStartArray("bbox");
                foreach (float v in new[] { o.Bounds.Left, o.Bounds.Top, o.Bounds.Right, o.Bounds.Bottom })
                {
                    w.WriteNumberValue(Math.Round(v, 2));
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("relations");
            foreach (var (subject, relation, reference) in graph.Relations())
            {
                w.WriteStartObject();
                w.WriteNumber("subject", subject.Id);
                w.WriteString("relation", RelationName(relation));
                w.WriteNumber("object", reference.Id);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("questions");
            foreach (var r in scene.Records)
            {
                w.WriteStartObject();
                w.WriteNumber("record", r.Index);
                w.WriteString("family", r.Family.ToString());
                w.WriteString("question", r.Question);
                w.WriteNumber("target", r.Target.Id);
                w.WriteStartObject("target_description");
                WriteDescription(w, r.Spec.Target);
                w.WriteEndObject();
                w.WriteStartArray("constraints");
                foreach (var c in r.Spec.Constraints)
                {
                    w.WriteStartObject();
                    w.WriteString("relation", RelationName(c.Relation));
                    w.WriteNumber("reference", c.Reference.Resolve(graph).Single().Id);
                    w.WriteStartObject("reference_description");
                    WriteDescription(w, c.Reference);
                    w.WriteEndObject();
                    w.WriteNumber("phrasing", c.Phrasing);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteNumber("phrasing", r.Spec.Phrasing);
                w.WriteStartArray("options");
                foreach (string option in r.Options)
                {
                    w.WriteStringValue(option);
                }

                w.WriteEndArray();
                w.WriteString("solution", r.Letter.ToString());
                w.WriteString("tier", r.Tier.ToString().ToLowerInvariant());
                w.WriteNumber("visual_similarity", Math.Round(r.VisualSimilarityScore, 4));
                w.WriteString("completion", r.Completion);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteDescription(Utf8JsonWriter w, ObjectDescription d)
    {
        w.WriteString("noun", d.Noun.ToString().ToLowerInvariant());
        if (d.Class is not null)
        {
            w.WriteString("class", d.Class);
        }

        if (d.Colour is not null)
        {
            w.WriteString("colour", d.Colour);
        }

        if (d.Cell is GridCell cell)
        {
            w.WriteString("cell", cell.Name);
        }
    }

    private static string RelationName(SpatialRelation relation) => relation switch
    {
        SpatialRelation.LeftOf => "left_of",
        SpatialRelation.RightOf => "right_of",
        SpatialRelation.Above => "above",
        SpatialRelation.Below => "below",
        _ => "within",
    };
}
