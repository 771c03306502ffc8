using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AnatomyR1.Cli;
using Xunit;

namespace AnatomyR1.Cli.Tests;

using AnatomyR1.Tests;

/// <summary>
/// Data-parallel GRPO under Open MPI's <c>mpirun</c> (docs/distributed.md): two processes against one process with
/// the same shards, resuming, a failing process and diverged weights. CI installs <c>openmpi-bin</c>; elsewhere the
/// tests return early when <c>mpirun</c> is missing (and fail when the CI variable is set).
/// </summary>
[Trait("Category", "Slow")]
public sealed class DistributedCliTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "anatomy-r1.dll");

    private static string? Mpirun()
    {
        string? found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);
        if (found is null && Environment.GetEnvironmentVariable("CI") is "true" or "1")
        {
            Assert.Fail("mpirun is missing: .ci/run installs openmpi-bin; the data-parallel tests must run in CI.");
        }

        return found;
    }

    private static string Synth(string folder)
    {
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "synth", "--out", folder, "--count", "60", "--seed", "4" }, new StringWriter(), new StringWriter()));
        return Path.Combine(folder, "train.json");
    }

    /// <summary>Adaptive GDQA, the curriculum and dynamic sampling: every piece of state the shards must agree on.</summary>
    private static string[] TrainArgs(string data, string run, int steps) => new[]
    {
        "train", "--data", data, "--method", "anatomy-r1", "--gdqa-mode", "adaptive", "--dynamic-sampling", "--steps", steps.ToString(CultureInfo.InvariantCulture),
        "--batch-size", "8", "--num-generations", "4", "--max-new-tokens", "24", "--checkpoint-every", "2", "--out", run, "--device", "cpu",
    };

    /// <summary>Runs <c>mpirun</c> with one application context per argument list (MPMD), each one process.</summary>
    private static (int Code, string Out, string Err) RunMpi(string mpirun, params string[][] contexts)
    {
        var start = new ProcessStartInfo(mpirun) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "-x", "OMP_NUM_THREADS=1" })
        {
            start.ArgumentList.Add(a);
        }

        for (int c = 0; c < contexts.Length; c++)
        {
            if (c > 0)
            {
                start.ArgumentList.Add(":");
            }

            foreach (string a in new[] { "-np", "1", "dotnet", Cli }.Concat(contexts[c]))
            {
                start.ArgumentList.Add(a);
            }
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("mpirun did not finish within 4 minutes (a hang): " + stderr.Result);
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static (int Code, string Out, string Err) RunOne(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Every metric of every step except timings, which differ between runs.</summary>
    private static List<Dictionary<string, string>> Metrics(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(line => JsonDocument.Parse(line).RootElement.EnumerateObject()
            .Where(p => !p.Name.StartsWith("time/", StringComparison.Ordinal) && p.Name is not "step_time" and not "tokens_per_second")
            .ToDictionary(p => p.Name, p => p.Value.GetRawText()))
        .ToList();

    private static byte[] Weights(string run) => File.ReadAllBytes(Path.Combine(run, "policy", "model.safetensors"));

    [Fact]
    public void Two_processes_end_with_the_weights_and_metrics_of_one_process_running_both_shards()
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string single = Path.Combine(dir.Path, "single");
        string parallel = Path.Combine(dir.Path, "parallel");
        var (code, _, error) = RunOne(TrainArgs(data, single, 4).Concat(new[] { "--shards", "2" }).ToArray());
        Assert.True(code == ExitCodes.Ok, error);

        var args = TrainArgs(data, parallel, 4);
        var (mpiCode, _, mpiError) = RunMpi(mpirun, args, args);
        Assert.True(mpiCode == 0, mpiError);

        // Bit-identical: each process computes its shard exactly as the single process does, and a sum of two
        // gradients does not depend on the order of its operands.
        Assert.Equal(Weights(single), Weights(parallel));
        var expected = Metrics(single);
        var actual = Metrics(parallel);
        Assert.Equal(4, actual.Count);
        for (int step = 0; step < expected.Count; step++)
        {
            Assert.Equal(expected[step], actual[step]);
        }

        // The GDQA state and the checkpoints come from the first process only, and match the single process's.
        Assert.Equal(
            File.ReadAllText(Path.Combine(single, "checkpoints", "checkpoint-4", "gdqa-state.json")),
            File.ReadAllText(Path.Combine(parallel, "checkpoints", "checkpoint-4", "gdqa-state.json")));
    }

    [Fact]
    public void A_run_stopped_under_mpirun_resumes_under_mpirun_and_on_one_process_to_the_same_weights()
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string straight = Path.Combine(dir.Path, "straight");
        Assert.Equal(ExitCodes.Ok, RunOne(TrainArgs(data, straight, 4).Concat(new[] { "--shards", "2" }).ToArray()).Code);

        // Two steps under mpirun, then the rest under mpirun again.
        string resumed = Path.Combine(dir.Path, "resumed");
        var first = TrainArgs(data, resumed, 4).Concat(new[] { "--stop-after", "2" }).ToArray();
        var (stopCode, _, stopError) = RunMpi(mpirun, first, first);
        Assert.True(stopCode != 0 && Directory.Exists(Path.Combine(resumed, "checkpoints", "checkpoint-2")), stopError);
        var again = TrainArgs(data, resumed, 4).Concat(new[] { "--resume" }).ToArray();
        var (code, _, error) = RunMpi(mpirun, again, again);
        Assert.True(code == 0, error);
        Assert.Equal(Weights(straight), Weights(resumed));
        Assert.Equal(Metrics(straight), Metrics(resumed));

        // The same checkpoint continued by one process with the same shards: what a run computes depends on its
        // shards, not on how many processes run them.
        string moved = Path.Combine(dir.Path, "moved");
        Directory.CreateDirectory(Path.Combine(moved, "checkpoints"));
        CopyFolder(Path.Combine(resumed, "checkpoints", "checkpoint-2"), Path.Combine(moved, "checkpoints", "checkpoint-2"));
        File.WriteAllLines(Path.Combine(moved, "metrics.jsonl"), File.ReadAllLines(Path.Combine(straight, "metrics.jsonl")).Take(2));
        var (oneCode, _, oneError) = RunOne(TrainArgs(data, moved, 4).Concat(new[] { "--resume", "--shards", "2" }).ToArray());
        Assert.True(oneCode == ExitCodes.Ok, oneError);
        Assert.Equal(Weights(straight), Weights(moved));

        // Other shards sample differently, so the checkpoint refuses them by name.
        var (refused, _, refusal) = RunOne(TrainArgs(data, moved, 6).Concat(new[] { "--resume", "--shards", "4" }).ToArray());
        Assert.Equal(ExitCodes.Usage, refused);
        Assert.Contains("shards", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_process_that_fails_ends_the_whole_job_with_its_message()
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string run = Path.Combine(dir.Path, "run");
        var good = TrainArgs(data, run, 4);
        var bad = good.Concat(new[] { "--model", Path.Combine(dir.Path, "no-such-model") }).ToArray();
        var (code, _, error) = RunMpi(mpirun, good, bad);
        Assert.NotEqual(0, code);
        Assert.Contains("error: process 1 of 2: ", error, StringComparison.Ordinal);
        Assert.Contains("no-such-model", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Processes_whose_weights_differ_stop_before_the_first_step_naming_each_checksum()
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string other = Path.Combine(dir.Path, "other");
        Assert.Equal(ExitCodes.Ok, RunOne("train", "--data", data, "--method", "grpo", "--steps", "1", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "8", "--lr", "1e-2", "--out", other, "--device", "cpu").Code);

        string run = Path.Combine(dir.Path, "run");
        var builtIn = TrainArgs(data, run, 4);
        var changed = builtIn.Concat(new[] { "--model", Path.Combine(other, "policy") }).ToArray();
        var (code, _, error) = RunMpi(mpirun, builtIn, changed);
        Assert.NotEqual(0, code);
        Assert.Contains("weights differ before step 1", error, StringComparison.Ordinal);
        Assert.Contains("process 1: sum", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "metrics.jsonl")) && File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length > 0);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string sub in Directory.GetDirectories(from))
        {
            CopyFolder(sub, Path.Combine(to, Path.GetFileName(sub)));
        }
    }
}
