using System.Diagnostics;
using AnatomyR1.Cli;
using Xunit;

namespace AnatomyR1.Cli.Tests;

using AnatomyR1.Tests;

/// <summary>Faults a run must survive and errors that must stay one line (docs/reliability.md).</summary>
public sealed class ReliabilityCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Starts the CLI in its own process with redirected output (for signals and kills).</summary>
    private static Process StartCli(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "anatomy-r1.dll"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    private static string Synth(string folder, int count = 60)
    {
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "synth", "--out", folder, "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", "4" }, new StringWriter(), new StringWriter()));
        return Path.Combine(folder, "train.json");
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    public void Unknown_device_spellings_are_a_usage_error_that_lists_the_valid_ones(string device)
    {
        var (code, _, error) = Run("eval", "--model", "builtin", "--data", "x.json", "--device", device);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("valid spellings: auto, cpu, cuda", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Cuda_without_cuda_is_an_environment_error_in_one_line_and_verbose_adds_the_trace()
    {
        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"), 20);
        if (global::TorchSharp.torch.cuda.is_available())
        {
            return;   // The fault needs a machine without CUDA.
        }

        var (code, _, error) = Run("eval", "--model", "builtin", "--data", data, "--device", "cuda");
        Assert.Equal(ExitCodes.Environment, code);
        Assert.StartsWith("error: Device 'cuda' asks for CUDA", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));

        var (verboseCode, _, verbose) = Run("eval", "--model", "builtin", "--data", data, "--device", "cuda", "--verbose");
        Assert.Equal(ExitCodes.Environment, verboseCode);
        Assert.Contains("   at ", verbose, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_model_folder_is_bad_input_in_one_line()
    {
        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"), 20);
        var (code, _, error) = Run("train", "--data", data, "--model", Path.Combine(dir.Path, "no-such-model"), "--out", Path.Combine(dir.Path, "run"), "--steps", "1", "--device", "cpu");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains("no-such-model", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_by_id_refuses_an_id_that_two_records_share_in_one_line()
    {
        // The same SSG-VQA frame in two folders: both copies get the ids VID01/000001#0 and #1.
        using var dir = new TempDir();
        foreach (string folder in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, "data", folder, "VID01"));
            dir.File(Path.Combine("data", folder, "VID01", "000001.txt"),
                "Video: VID01 Frame: 000001\nquestion|answer|template|type|relation\nWhat is it?|liver|t.json|query_component|none\nWhat is below?|gut|t.json|query_component|none\n");
        }

        string predictions = dir.File("pred.jsonl", "{\"id\": \"VID01/000001#0\", \"answer\": \"liver\"}\n{\"id\": \"VID01/000001#1\", \"answer\": \"gut\"}\n");
        var (code, output, error) = Run("eval", predictions, "--data", Path.Combine(dir.Path, "data"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.StartsWith("error: pred.jsonl: field 'id': id 'VID01/000001#0' is ambiguous: 2 records of the data have it", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.DoesNotContain("Accuracy", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Synth_overwrite_replaces_only_a_folder_synth_wrote()
    {
        using var dir = new TempDir();
        string mine = Path.Combine(dir.Path, "my-data");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "notes.txt"), "precious");
        var (code, _, error) = Run("synth", "--out", mine, "--count", "5", "--overwrite");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("was not written by the synthetic dataset writer", error, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(mine, "notes.txt")));

        string synth = Path.Combine(dir.Path, "synth");
        Assert.Equal(ExitCodes.Ok, Run("synth", "--out", synth, "--count", "5").Code);
        Assert.Equal(ExitCodes.Ok, Run("synth", "--out", synth, "--count", "6", "--overwrite").Code);
        Assert.True(File.Exists(Path.Combine(synth, AnatomyR1.Synthetic.SyntheticDatasetWriter.MarkerFile)));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Resume_survives_a_torn_log_a_damaged_checkpoint_and_a_partial_save()
    {
        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string run = Path.Combine(dir.Path, "run");
        string[] args = { "train", "--data", data, "--method", "grpo", "--steps", "4", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "8", "--checkpoint-every", "1", "--out", run, "--device", "cpu" };
        Assert.Equal(ExitCodes.Interrupted, Run(args.Concat(new[] { "--stop-after", "3" }).ToArray()).Code);
        string checkpoints = Path.Combine(run, "checkpoints");

        // Disk full while appending step 4's line; the newest checkpoint damaged; a save killed half-way.
        File.AppendAllText(Path.Combine(run, "metrics.jsonl"), "{\"step\": 4, \"reward\": 0.");
        string optimizer = Directory.GetFiles(Path.Combine(checkpoints, "checkpoint-3"), "optimizer*").First();
        var bytes = File.ReadAllBytes(optimizer);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(optimizer, bytes);
        Directory.CreateDirectory(Path.Combine(checkpoints, "checkpoint-4.partial-1a2b3c"));

        var (code, output, error) = Run(args.Concat(new[] { "--resume" }).ToArray());
        Assert.True(code == ExitCodes.Ok, error);
        Assert.Contains("skipping checkpoint", error, StringComparison.Ordinal);
        Assert.Contains("checkpoint-3", error, StringComparison.Ordinal);
        Assert.Contains("removed", error, StringComparison.Ordinal);
        Assert.Contains("Resumed from", output, StringComparison.Ordinal);
        Assert.Contains("checkpoint-2", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(checkpoints, "checkpoint-4.partial-1a2b3c")));
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(4, lines.Length);
        Assert.Equal(Enumerable.Range(1, 4), lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["step"]!.GetValue<int>()));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task Sigterm_stops_training_with_a_checkpoint_that_resumes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string run = Path.Combine(dir.Path, "run");
        string[] args = { "train", "--data", data, "--method", "grpo", "--steps", "200", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "8", "--checkpoint-every", "100", "--out", run, "--device", "cpu" };
        using var process = StartCli(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        string metrics = Path.Combine(run, "metrics.jsonl");
        RunningCli.WaitForSteps(process, metrics, 2);
        Assert.False(process.HasExited, "the run ended before it could be signalled: " + (process.HasExited ? await stderr : string.Empty));
        RunningCli.Signal(process, "TERM");

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        string errorText = await stderr;
        string outputText = await stdout;
        Assert.True(process.ExitCode == ExitCodes.Terminated, $"exit {process.ExitCode}: {errorText}");
        int stoppedAt = File.ReadAllLines(metrics).Length;
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", $"checkpoint-{stoppedAt}")), outputText);

        var (code, output, error) = Run(args.Concat(new[] { "--resume", "--stop-after", "1" }).ToArray());
        Assert.True(code == ExitCodes.Interrupted, error);
        Assert.Contains($"Resumed from", output, StringComparison.Ordinal);
        Assert.Equal(stoppedAt + 1, File.ReadAllLines(metrics).Length);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task Kill_9_at_random_moments_always_leaves_a_run_that_resumes_and_ends_bit_exactly()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = new TempDir();
        string data = Synth(Path.Combine(dir.Path, "synth"));
        string straight = Path.Combine(dir.Path, "straight");
        string killed = Path.Combine(dir.Path, "killed");
        string[] Args(string run) => new[] { "train", "--data", data, "--method", "grpo", "--steps", "12", "--batch-size", "2", "--num-generations", "2", "--max-new-tokens", "8", "--checkpoint-every", "1", "--out", run, "--device", "cpu" };
        var (code, _, error) = Run(Args(straight));
        Assert.True(code == ExitCodes.Ok, error);

        // --resume never takes over a folder that is not a run folder.
        string foreign = Path.Combine(dir.Path, "foreign");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "mine");
        var (refused, _, why) = Run(Args(foreign).Concat(new[] { "--resume" }).ToArray());
        Assert.Equal(ExitCodes.BadInput, refused);
        Assert.Contains("not a run folder", why, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(foreign, "notes.txt")));

        // Kill −9 the same run again and again at random moments: while loading, training, appending metrics, writing
        // checkpoints or the final policy. Every relaunch must resume (or, before the first checkpoint, start over).
        // 8 launches of a 12-step run that advance 0–2 steps each (plus what 0–400 ms allow): most are killed.
        var random = new Random(20261202);
        int kills = 0;
        for (int round = 0; round < 8; round++)
        {
            // The moment is drawn against the run's own progress, not the clock, so that the machine's speed cannot
            // let whole runs finish between kills: wait for 0–2 new steps (0: still loading), then 0–400 ms more.
            string metrics = Path.Combine(killed, "metrics.jsonl");
            int Lines() => File.Exists(metrics) ? File.ReadAllLines(metrics).Length : 0;
            int target = Lines() + random.Next(0, 3);
            int extra = random.Next(0, 400);
            using var process = StartCli(Args(killed).Concat(round > 0 ? new[] { "--resume" } : Array.Empty<string>()));
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!process.HasExited && Lines() < target && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }

            bool exited = process.WaitForExit(extra);
            if (!exited)
            {
                process.Kill();
                kills++;
            }

            await process.WaitForExitAsync();
            string errorText = await stderr;
            _ = await stdout;
            Assert.True(!exited || process.ExitCode == ExitCodes.Ok, $"round {round}: exit {process.ExitCode}: {errorText}");
            Assert.DoesNotContain("error:", errorText, StringComparison.Ordinal);
        }

        Assert.True(kills >= 3, $"only {kills} of 8 launches were killed; the timing no longer exercises the property");
        var (last, _, lastError) = Run(Args(killed).Concat(new[] { "--resume" }).ToArray());
        Assert.True(last == ExitCodes.Ok, lastError);

        // The interrupted run ends exactly where the uninterrupted one did: the same weights, byte for byte, and the same
        // per-step rewards and losses.
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "policy", "model.safetensors")), File.ReadAllBytes(Path.Combine(killed, "policy", "model.safetensors")));
        static List<string> Scores(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Select(n => $"{n["step"]} {n["reward"]} {n["loss"]} {n["kl"]}").ToList();
        Assert.Equal(Scores(straight), Scores(killed));
    }
}
