using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// A GRPO checkpoint folder <c>checkpoint-&lt;step&gt;</c>: <c>policy/</c> (the trained weights), <c>reference/</c>
/// (the frozen reference, when β &gt; 0), <c>optimizer.bin</c> (AdamW moments and step counts) and
/// <c>trainer.json</c> (the step, counters, the settings a resumed run must share, and a SHA-256 of every other file).
/// Prompt draws and rollout seeds are pure functions of (seed, step), so no random-generator state needs storing.
/// </summary>
/// <remarks>
/// The folder is filled beside its final name and renamed into place, so a process killed while saving leaves a
/// <c>checkpoint-N.partial-…</c> folder that <see cref="Latest"/> never picks. Loading re-hashes every file, so a
/// folder damaged afterwards is reported, not loaded.
/// </remarks>
public sealed partial class GrpoCheckpoint
{
    /// <summary>Format tag written into <c>trainer.json</c>.</summary>
    public const string FormatName = "anatomyr1-grpo-checkpoint";

    /// <summary>The state file.</summary>
    public const string StateFile = "trainer.json";

    /// <summary>The optimiser file.</summary>
    public const string OptimizerFile = "optimizer.bin";

    /// <summary>File of the per-prompt GDQA history (whether each prompt's last group had zero reward variance).</summary>
    public const string GdqaStateFile = "gdqa-state.json";

    /// <summary>The policy folder.</summary>
    public const string PolicyFolder = "policy";

    /// <summary>The reference folder.</summary>
    public const string ReferenceFolder = "reference";

    /// <summary>Sub-folder with the LoRA adapters in PEFT's layout (LoRA runs only; <see cref="PolicyFolder"/> then holds the unchanged base weights).</summary>
    public const string AdapterFolder = "adapter";

    private GrpoCheckpoint(string folder, int step, int consecutiveNonFinite, int skippedSteps, JsonObject settings)
    {
        Folder = folder;
        Step = step;
        ConsecutiveNonFinite = consecutiveNonFinite;
        SkippedSteps = skippedSteps;
        Settings = settings;
    }

    /// <summary>The checkpoint folder.</summary>
    public string Folder { get; }

    /// <summary>Steps completed when it was written.</summary>
    public int Step { get; }

    /// <summary>Non-finite steps in a row at that point.</summary>
    public int ConsecutiveNonFinite { get; }

    /// <summary>Skipped steps so far.</summary>
    public int SkippedSteps { get; }

    /// <summary>The settings recorded with it.</summary>
    public JsonObject Settings { get; }

    /// <summary>Whether a reference policy was saved.</summary>
    public bool HasReference => Directory.Exists(Path.Combine(Folder, ReferenceFolder));

    /// <summary>Whether the checkpoint holds LoRA adapters.</summary>
    public bool HasAdapter => Directory.Exists(Path.Combine(Folder, AdapterFolder));

    /// <summary>The folder name of a step's checkpoint.</summary>
    /// <param name="step">The step.</param>
    /// <returns><c>checkpoint-&lt;step&gt;</c>.</returns>
    public static string FolderName(int step) => "checkpoint-" + step.ToString(CultureInfo.InvariantCulture);

    /// <summary>The completed checkpoints under <paramref name="checkpointsFolder"/>, by step ascending.</summary>
    /// <param name="checkpointsFolder">The folder holding <c>checkpoint-N</c> folders.</param>
    /// <returns>(step, folder) pairs; partial folders left by an interrupted save are ignored.</returns>
    public static IReadOnlyList<(int Step, string Folder)> List(string checkpointsFolder)
    {
        if (!Directory.Exists(checkpointsFolder))
        {
            return Array.Empty<(int, string)>();
        }

        return Directory.GetDirectories(checkpointsFolder)
            .Select(d => (Match: CheckpointName().Match(Path.GetFileName(d)), Folder: d))
            .Where(m => m.Match.Success)
            .Select(m => (int.Parse(m.Match.Groups[1].Value, CultureInfo.InvariantCulture), m.Folder))
            .OrderBy(p => p.Item1).ToList();
    }

    /// <summary>The latest completed checkpoint, or null.</summary>
    /// <param name="checkpointsFolder">The folder holding <c>checkpoint-N</c> folders.</param>
    /// <returns>Its folder, or null when there is none.</returns>
    public static string? Latest(string checkpointsFolder) => List(checkpointsFolder).Select(p => p.Folder).LastOrDefault();

    /// <summary>
    /// The newest checkpoint that passes <see cref="Read"/> (every file present with its recorded hash). Damaged newer
    /// ones are skipped and reported through <paramref name="warn"/> with the reason; folders left by an interrupted
    /// save (<c>*.partial-*</c>) are deleted.
    /// </summary>
    /// <param name="checkpointsFolder">The folder holding <c>checkpoint-N</c> folders.</param>
    /// <param name="warn">Receives one line per skipped checkpoint or removed partial folder.</param>
    /// <returns>The intact checkpoint's folder, or null when none is intact.</returns>
    public static string? LatestIntact(string checkpointsFolder, Action<string>? warn = null)
    {
        if (!Directory.Exists(checkpointsFolder))
        {
            return null;
        }

        foreach (string partial in Directory.GetDirectories(checkpointsFolder, "checkpoint-*.partial-*"))
        {
            Directory.Delete(partial, recursive: true);
            warn?.Invoke($"removed '{partial}', left by an interrupted checkpoint save.");
        }

        foreach (var (_, folder) in List(checkpointsFolder).Reverse())
        {
            try
            {
                Read(folder);
                return folder;
            }
            catch (InvalidDataException ex)
            {
                warn?.Invoke($"skipping checkpoint '{folder}': {ex.Message}");
            }
        }

        return null;
    }

    /// <summary>Writes a checkpoint atomically.</summary>
    /// <param name="folder">Destination (<c>…/checkpoint-N</c>).</param>
    /// <param name="step">Steps completed.</param>
    /// <param name="consecutiveNonFinite">Non-finite steps in a row.</param>
    /// <param name="skippedSteps">Skipped steps so far.</param>
    /// <param name="settings">Settings a resumed run must share.</param>
    /// <param name="writeContent">Writes policy, reference and optimiser files into the staging folder it is given.</param>
    public static void Write(string folder, int step, int consecutiveNonFinite, int skippedSteps, JsonObject settings, Action<string> writeContent)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(writeContent);
        AnatomyR1.IO.AtomicFile.WriteFolder(folder, staging =>
        {
            writeContent(staging);
            var files = new JsonObject();
            foreach (string file in Directory.GetFiles(staging, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
            {
                files[Path.GetRelativePath(staging, file).Replace('\\', '/')] = Hash(file);
            }

            var state = new JsonObject
            {
                ["format"] = FormatName,
                ["version"] = 1,
                ["step"] = step,
                ["consecutive_nonfinite"] = consecutiveNonFinite,
                ["skipped_steps"] = skippedSteps,
                ["settings"] = settings.DeepClone(),
                ["files"] = files,
            };
            File.WriteAllText(Path.Combine(staging, StateFile), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        });
    }

    /// <summary>Reads and verifies a checkpoint (every file present with its recorded hash).</summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="InvalidDataException">A file is missing, altered or the state is malformed; the message names it.</exception>
    public static GrpoCheckpoint Read(string folder)
    {
        string statePath = Path.Combine(folder, StateFile);
        if (!File.Exists(statePath))
        {
            throw new InvalidDataException($"'{folder}' is not a GRPO checkpoint: {StateFile} is missing.");
        }

        JsonObject state;
        try
        {
            state = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new InvalidDataException($"{statePath}: not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{statePath}: {ex.Message}", ex);
        }

        if ((string?)state["format"] != FormatName || (int?)state["version"] != 1)
        {
            throw new InvalidDataException($"{statePath}: field 'format' must be '{FormatName}' version 1.");
        }

        if (state["files"] is not JsonObject files || state["settings"] is not JsonObject settings)
        {
            throw new InvalidDataException($"{statePath}: fields 'files' and 'settings' are required.");
        }

        foreach (var (relative, expected) in files)
        {
            string path = Path.Combine(folder, relative);
            if (!File.Exists(path))
            {
                throw new InvalidDataException($"Checkpoint '{folder}' is incomplete: {relative} is missing.");
            }

            if (Hash(path) != (string?)expected)
            {
                throw new InvalidDataException($"Checkpoint '{folder}' is damaged: {relative} does not match the hash recorded in {StateFile}.");
            }
        }

        int Field(string name) => (int?)state[name] ?? throw new InvalidDataException($"{statePath}: field '{name}' is missing.");
        return new GrpoCheckpoint(folder, Field("step"), Field("consecutive_nonfinite"), Field("skipped_steps"), settings);
    }

    /// <summary>Settings recorded only when they differ from their value here (so older checkpoints, which lack them, still match).</summary>
    private static readonly Dictionary<string, string> ImplicitSettings = new(StringComparer.Ordinal) { ["shards"] = "1" };

    /// <summary>
    /// Fails when a recorded setting differs from the current one (the resumed run would not continue the same run),
    /// naming every difference. Settings the checkpoint did not record (written by an older version) are not compared.
    /// </summary>
    /// <param name="current">Current settings.</param>
    /// <param name="allowChanged">Setting names that may differ (each difference is reported through <paramref name="warn"/>); null allows none.</param>
    /// <param name="warn">Receives one line per allowed difference.</param>
    /// <exception cref="GrpoSettingsMismatchException">A setting differs and is not allowed; the message names it.</exception>
    public void RequireSameSettings(JsonObject current, IReadOnlyCollection<string>? allowChanged = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        var refused = new List<string>();
        foreach (var (name, value) in current.Concat(ImplicitSettings.Where(d => !current.ContainsKey(d.Key)).Select(d => KeyValuePair.Create(d.Key, (JsonNode?)null))))
        {
            bool implicitSetting = ImplicitSettings.TryGetValue(name, out string? absent);
            if (!Settings.ContainsKey(name) && !implicitSetting)
            {
                continue;
            }

            string now = value?.ToJsonString() ?? absent ?? "null";
            string then = (Settings.TryGetPropertyValue(name, out var recorded) ? recorded?.ToJsonString() : null) ?? absent ?? "null";
            if (now == then)
            {
                continue;
            }

            string change = $"{name} was {then} in that run and is {now} now";
            if (allowChanged?.Contains(name) == true)
            {
                warn?.Invoke($"resuming from '{Folder}' with a changed setting (allowed): {change}.");
            }
            else
            {
                refused.Add(change);
            }
        }

        if (refused.Count > 0)
        {
            var names = refused.Select(r => r[..r.IndexOf(' ', StringComparison.Ordinal)]).ToList();
            throw new GrpoSettingsMismatchException(
                $"Cannot resume from '{Folder}': option {string.Join("; option ", refused)}. Use the run's settings, or allow the change deliberately (--allow-changed {string.Join(",", names)}).",
                names);
        }
    }

    private static string Hash(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    [GeneratedRegex(@"^checkpoint-(\d+)$")]
    private static partial Regex CheckpointName();
}
