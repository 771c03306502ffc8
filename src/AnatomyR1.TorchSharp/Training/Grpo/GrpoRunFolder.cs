using AnatomyR1.IO;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>A GRPO run folder: <c>metrics.jsonl</c> (one line per step) and <c>checkpoints/checkpoint-N</c>, with pruning and trimming the log back to a resumed step.</summary>
internal sealed class GrpoRunFolder
{
    public GrpoRunFolder(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
    }

    public string Folder { get; }

    public string MetricsPath => Path.Combine(Folder, GrpoSession.MetricsFile);

    public string CheckpointsPath => Path.Combine(Folder, GrpoSession.CheckpointsFolder);

    public string CheckpointPath(int step) => Path.Combine(CheckpointsPath, GrpoCheckpoint.FolderName(step));

    public void Append(GrpoStepMetrics record) => File.AppendAllText(MetricsPath, record.ToJsonLine() + "\n");

    /// <summary>
    /// Drops the log lines of steps after <paramref name="step"/> (a resumed run rewrites them). A last line that does
    /// not parse — torn by a full disk or a kill while it was appended — is dropped too; an unreadable line before the
    /// last is an error naming the file and line.
    /// </summary>
    /// <returns>True when a torn last line was dropped.</returns>
    public bool TrimMetrics(int step)
    {
        if (!File.Exists(MetricsPath))
        {
            return false;
        }

        var lines = File.ReadAllLines(MetricsPath).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var kept = new List<string>();
        bool torn = false;
        for (int i = 0; i < lines.Count; i++)
        {
            GrpoStepMetrics record;
            try
            {
                record = GrpoStepMetrics.FromJsonLine(lines[i]);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                if (i == lines.Count - 1)
                {
                    torn = true;
                    break;
                }

                throw new InvalidDataException($"{MetricsPath}: line {i + 1} is not a metrics record ({ex.Message}).", ex);
            }

            if (record.Step <= step)
            {
                kept.Add(lines[i]);
            }
        }

        AtomicFile.WriteAllText(MetricsPath, kept.Count == 0 ? string.Empty : string.Join("\n", kept) + "\n");
        return torn;
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints (0 keeps all).</summary>
    public void PruneCheckpoints(int keep)
    {
        if (keep == 0)
        {
            return;
        }

        var all = GrpoCheckpoint.List(CheckpointsPath);
        foreach (var (_, folder) in all.Take(Math.Max(0, all.Count - keep)))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
