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
        if (found is null && (Environment.GetEnvironmentVariable("ANATOMYR1_REQUIRE_MPI") is "1" || Environment.GetEnvironmentVariable("CI") is "true" or "1"))
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

    /// <summary>Runs <c>mpirun</c> to the end (see <see cref="StartMpi"/>); a run that does not end in 4 minutes is a hang.</summary>
    private static (int Code, string Out, string Err) RunMpi(string mpirun, params string[][] contexts)
    {
        using var process = StartMpi(mpirun, contexts);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("mpirun did not finish within 4 minutes (a hang): " + stderr.Result);
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts <c>mpirun</c> with one application context per argument list (MPMD), each one process.</summary>
    private static Process StartMpi(string mpirun, params string[][] contexts)
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

        return Process.Start(start)!;
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

        // Other shards sample differently, so the checkpoint refuses them by name — one shard (not recorded) included.
        foreach (var shards in new[] { new[] { "--shards", "4" }, Array.Empty<string>() })
        {
            var (refused, _, refusal) = RunOne(TrainArgs(data, moved, 6).Concat(new[] { "--resume" }).Concat(shards).ToArray());
            Assert.Equal(ExitCodes.Usage, refused);
            Assert.Contains("shards was 2", refusal, StringComparison.Ordinal);
        }
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
    public void A_process_that_finds_bad_input_alone_or_runs_other_settings_ends_the_job()
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));

        // Bad input found by one process only (a data path missing on one node): an exit code, not an exception.
        var good = TrainArgs(data, Path.Combine(dir.Path, "run"), 4);
        var missing = TrainArgs(Path.Combine(dir.Path, "missing.json"), Path.Combine(dir.Path, "run"), 4);
        var (code, _, error) = RunMpi(mpirun, good, missing);
        Assert.NotEqual(0, code);
        Assert.Contains("missing.json", error, StringComparison.Ordinal);

        // Another seed on one process: the settings hash differs before step 1.
        var seeded = TrainArgs(data, Path.Combine(dir.Path, "seeded"), 4);
        var (seedCode, _, seedError) = RunMpi(mpirun, seeded, seeded.Concat(new[] { "--seed", "5" }).ToArray());
        Assert.NotEqual(0, seedCode);
        Assert.Contains("settings or training data differ before step 1", seedError, StringComparison.Ordinal);
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
        // The built-in checkpoint with the last weight of its last tensor changed (still finite).
        string other = Path.Combine(dir.Path, "other");
        CopyFolder(Path.Combine(AppContext.BaseDirectory, "models", "anatomy-r1-tiny-warmstart"), other);
        string weights = Path.Combine(other, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        float last = BitConverter.ToSingle(bytes, bytes.Length - 4);
        BitConverter.GetBytes(last + 0.25f).CopyTo(bytes, bytes.Length - 4);
        File.WriteAllBytes(weights, bytes);

        string run = Path.Combine(dir.Path, "run");
        var builtIn = TrainArgs(data, run, 4);
        var changed = builtIn.Concat(new[] { "--model", other }).ToArray();
        var (code, _, error) = RunMpi(mpirun, builtIn, changed);
        Assert.NotEqual(0, code);
        Assert.Contains("weights differ before step 1", error, StringComparison.Ordinal);
        Assert.Contains("process 1: sum", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "metrics.jsonl")) && File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length > 0);
    }

    [Theory]
    [InlineData("USR1")]   // forwarded by mpirun at once
    [InlineData("TERM")]   // reaches the processes after odls_base_sigkill_timeout (1 s), SIGKILL a second later
    public async Task A_signal_to_mpirun_stops_every_process_at_the_same_step_with_a_checkpoint(string signal)
    {
        if (Mpirun() is not string mpirun)
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string run = Path.Combine(dir.Path, "run");
        string[] args = { "train", "--data", data, "--method", "grpo", "--steps", "2000", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "8", "--checkpoint-every", "1000", "--out", run, "--device", "cpu" };
        using var process = StartMpi(mpirun, args, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        string metrics = Path.Combine(run, "metrics.jsonl");
        RunningCli.WaitForSteps(process, metrics, 2);
        Assert.False(process.HasExited, "the run ended before it could be signalled: " + (process.HasExited ? await stderr : string.Empty));
        RunningCli.Signal(process, signal);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        string errorText = await stderr;
        _ = await stdout;
        int stoppedAt = File.ReadAllLines(metrics).Length;
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", $"checkpoint-{stoppedAt}")), $"exit {process.ExitCode}, {stoppedAt} steps: {errorText}");

        // The checkpoint continues (here on one process with the same two shards).
        var (code, output, error) = RunOne(args.Concat(new[] { "--resume", "--stop-after", "1", "--shards", "2" }).ToArray());
        Assert.True(code == ExitCodes.Interrupted, error);
        Assert.Contains("Resumed from", output, StringComparison.Ordinal);
        Assert.Equal(stoppedAt + 1, File.ReadAllLines(metrics).Length);
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
