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

    /// <summary>Drops the log lines of steps after <paramref name="step"/> (a resumed run rewrites them).</summary>
    public void TrimMetrics(int step)
    {
        if (!File.Exists(MetricsPath))
        {
            return;
        }

        var kept = File.ReadAllLines(MetricsPath).Where(l => l.Length > 0).Where(l => GrpoStepMetrics.FromJsonLine(l).Step <= step).ToList();
        AtomicFile.WriteAllText(MetricsPath, kept.Count == 0 ? string.Empty : string.Join("\n", kept) + "\n");
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
