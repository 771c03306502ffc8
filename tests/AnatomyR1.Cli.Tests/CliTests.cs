using AnatomyR1.Testing;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Cli;
using AnatomyR1.Data;
using AnatomyR1.Evaluation;
using AnatomyR1.Prompts;
using AnatomyR1.Synthetic;
using AnatomyR1.Testing.Policies;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using Xunit;

namespace AnatomyR1.Cli.Tests;

using AnatomyR1.Tests;

/// <summary>The anatomy-r1 command end to end, in process, with captured output.</summary>
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [SharedDataFact]
    public void InspectReportsAllRecordsAndTheSixClasses()
    {
        var (code, output, error) = Run("inspect", TestData.GrpoJson);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("Loaded 1000 of 1000 records; skipped 0.", output, StringComparison.Ordinal);
        foreach (var (name, count) in new[] { ("Liver", 232), ("Omentum", 187), ("Abdominal Wall Cavity", 178), ("Gallbladder", 147), ("Cystic Plate", 141), ("Gut", 115) })
        {
            Assert.Matches($@"│ {name}\s+│\s+{count} │", output);
        }
    }

    [SharedDataFact]
    public void InspectJsonIsMachineReadable()
    {
        var (code, output, _) = Run("inspect", TestData.AscJson, "--json");
        Assert.Equal(ExitCodes.Ok, code);
        var json = JsonNode.Parse(output)!;
        Assert.Equal(1000, (int)json["loaded"]!);
        Assert.Equal(239, (int)json["classes"]!["Abdominal Wall Cavity"]!);
        Assert.True((bool)json["ok"]!);
    }

    [SharedDataFact]
    public void CorruptedFileExitsOneNamingRecordAndField()
    {
        using var dir = new TempDir();
        var array = JsonNode.Parse(File.ReadAllText(TestData.GrpoJson))!.AsArray();
        array[123]!["answer"] = "Spleen";
        string path = dir.File("GRPO.json", array.ToJsonString());
        var (code, _, error) = Run("inspect", path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("GRPO.json: record 123 (line 1), field 'answer': 'Spleen' is not among the options", error, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void LenientInspectListsEverySkippedRecord()
    {
        using var dir = new TempDir();
        var array = JsonNode.Parse(File.ReadAllText(TestData.GrpoJson))!.AsArray();
        array[5]!["solution"] = "Q";
        array[900]!.AsObject().Remove("images");
        string path = dir.File("GRPO.json", array.ToJsonString());
        var (code, output, error) = Run("inspect", path, "--lenient");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("Loaded 998 of 1000 records; skipped 2.", output, StringComparison.Ordinal);
        Assert.Contains("record 5 (line 1), field 'solution'", error, StringComparison.Ordinal);
        Assert.Contains("record 900 (line 1), field 'images'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("frobnicate")]
    [InlineData("inspect", "x.json", "--format", "csv")]
    [InlineData("eval", "p.jsonl")]
    [InlineData("inspect", "x.json", "--map", "nonsense")]
    public void UsageErrorsExitTwo(params string[] args)
    {
        var (code, _, error) = Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpExitsZero()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("inspect", output, StringComparison.Ordinal);
        Assert.Contains("eval", output, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void EvalScoresCompletionsAndWritesJson()
    {
        using var dir = new TempDir();
        var samples = AnatomyR1.Data.VqaDataLoader.Load(TestData.GrpoJson).Samples;
        // Every 4th answer wrong (the next letter), the rest right; all in the R1 format.
        var lines = samples.Select(s =>
        {
            string letter = s.RecordIndex % 4 == 0 ? ((char)('A' + ((s.CorrectIndex + 1) % 4))).ToString() : s.CorrectLetter;
            return JsonSerializer.Serialize(new { id = s.SampleId, completion = $"<think>looking</think> <answer>{letter}</answer>" });
        });
        string predictions = dir.File("pred.jsonl", string.Join("\n", lines));
        string metrics = Path.Combine(dir.Path, "out", "metrics.json");
        var (code, output, error) = Run("eval", predictions, "--data", TestData.GrpoJson, "--out", metrics);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("Accuracy 75.0%", output, StringComparison.Ordinal);
        Assert.Contains("Format compliance 100.0%", output, StringComparison.Ordinal);
        var json = JsonNode.Parse(File.ReadAllText(metrics))!;
        Assert.Equal(750, (int)json["overall"]!["correct"]!);
        Assert.Equal(1000, (int)json["overall"]!["count"]!);
    }

    [SharedDataFact]
    public void EvalWithUnknownIdExitsOne()
    {
        using var dir = new TempDir();
        string predictions = dir.File("pred.jsonl", "{\"id\": \"nope\", \"letter\": \"A\"}\n");
        var (code, _, error) = Run("eval", predictions, "--data", TestData.GrpoJson);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("line 1, field 'id': no record has id 'nope'", error, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void SimilarityScoresEveryRecordPrintsHistogramsAndWritesJsonLines()
    {
        using var dir = new TempDir();
        string scored = Path.Combine(dir.Path, "scored.jsonl");
        var (code, output, error) = Run("similarity", TestData.GrpoJson, "--embedder", "ngram", "--embedder", "visual", "--out", scored);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("S(q) of 1000 records in GRPO.json", output, StringComparison.Ordinal);
        Assert.Contains("char-ngram: S(q) per option set (15 sets", output, StringComparison.Ordinal);
        Assert.Contains("visual-table: S(q) per option set (15 sets", output, StringComparison.Ordinal);
        var lines = File.ReadAllLines(scored);
        Assert.Equal(1000, lines.Length);
        var first = JsonNode.Parse(lines[0])!;
        var options = first["options"]!.AsArray().Select(o => (string)o!).ToArray();
        int correct = Array.IndexOf(options, (string)first["answer"]!);
        float expected = AnatomyR1.Curriculum.OptionSimilarityScore.Compute(options, correct, AnatomyR1.Curriculum.ClassSimilarityTable.SyntheticVisual());
        Assert.Equal(expected, (float)first["s_q/visual-table"]!, 5);
        Assert.InRange((int)first["stage/char-ngram"]!, 0, 2);
    }

    [Fact]
    public void SimilarityNamesTheRecordAndOptionAMeasureCannotScore()
    {
        using var dir = new TempDir();
        string table = dir.File("t.csv", ",Liver,Gut\nLiver,1,0.5\nGut,0.5,1\n");
        var (code, _, error) = Run("similarity", Path.Combine(RepoSample(), "anatomy-r1-sample.json"), "--embedder", "table:" + table);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("anatomy-r1-sample.json", error, StringComparison.Ordinal);
        Assert.Contains("is not a class of the similarity table", error, StringComparison.Ordinal);

        var (badCode, _, badError) = Run("similarity", Path.Combine(RepoSample(), "anatomy-r1-sample.json"), "--embedder", "wordnet");
        Assert.Equal(ExitCodes.BadInput, badCode);
        Assert.Contains("--embedder 'wordnet'", badError, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void AugmentReportsEveryFamilyAndLeavesTheUnparsedRecordAlone()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "aug.jsonl");
        var (code, text, error) = Run("augment", TestData.GrpoJson, TestData.AscJson, "--variants", "4", "--out", output);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, error);
        Assert.Matches(@"│ all\s+│ 2000\s+│ 1999\s+│ 1\s+│", text);
        Assert.Contains("retracted by", text, StringComparison.Ordinal);
        var lines = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2000, lines.Count);
        var unparsed = Assert.Single(lines, l => (string)l["status"]! == "Unparsed");
        Assert.Single(unparsed["variants"]!.AsArray());
        foreach (var line in lines.Where(l => (string)l["status"]! == "Augmented").Take(200))
        {
            var forms = line["variants"]!.AsArray();
            Assert.Equal(4, forms.Count);
            string answer = forms[0]!["options"]![(int)((string)forms[0]!["correct_letter"]!)[0] - 'A']!.GetValue<string>();
            Assert.All(forms, f => Assert.Equal(answer, f!["options"]![(int)((string)f["correct_letter"]!)[0] - 'A']!.GetValue<string>()));
        }
    }

    private static string RepoSample()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "data", "sample");
            if (File.Exists(Path.Combine(candidate, "anatomy-r1-sample.json")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("data/sample was not found above the test output folder.");
    }
}

public sealed class SynthCliTests
{
    [Trait("Category", "Slow")]
    [Fact]
    public void TrainStopsWithACheckpointResumesAndEvaluates()
    {
        using var dir = new TempDir();
        string data = Path.Combine(dir.Path, "synth");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "synth", "--out", data, "--count", "120", "--seed", "4" }, new StringWriter(), new StringWriter()));
        string run = Path.Combine(dir.Path, "run");
        string[] args = { "train", "--data", Path.Combine(data, "train.json"), "--method", "anatomy-r1", "--steps", "3", "--batch-size", "2", "--num-generations", "2",
            "--max-new-tokens", "24", "--checkpoint-every", "1", "--out", run, "--device", "cpu" };
        var first = new StringWriter();
        var err = new StringWriter();
        Assert.Equal(ExitCodes.Interrupted, CliApp.Run(args.Concat(new[] { "--stop-after", "2" }).ToArray(), first, err));
        Assert.Contains("Stopped at step 2", first.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", "checkpoint-2")));

        // A second fresh run into the same folder is refused; --resume continues at step 3 and evaluates.
        Assert.Equal(ExitCodes.BadInput, CliApp.Run(args, new StringWriter(), new StringWriter()));
        var second = new StringWriter();
        Assert.Equal(ExitCodes.Ok, CliApp.Run(args.Concat(new[] { "--resume", "--eval", Path.Combine(data, "test.json") }).ToArray(), second, err));
        Assert.Contains("Resumed from", second.ToString(), StringComparison.Ordinal);
        Assert.Contains("Held-out accuracy", second.ToString(), StringComparison.Ordinal);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(3, lines.Length);
        Assert.Contains("curriculum/mean_s_q", lines[2], StringComparison.Ordinal);
        Assert.Contains("gdqa/augmented_fraction", lines[2], StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "policy", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "summary.json")));

        // The trained policy answers through eval --model.
        string metrics = Path.Combine(dir.Path, "eval.json");
        var eval = new StringWriter();
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "eval", "--model", Path.Combine(run, "policy"), "--data", Path.Combine(data, "test.json"), "--out", metrics, "--device", "cpu" }, eval, err));
        Assert.Contains("Accuracy", eval.ToString(), StringComparison.Ordinal);
        Assert.Equal(VqaDataLoader.Load(Path.Combine(data, "test.json")).Samples.Count, (int)JsonNode.Parse(File.ReadAllText(metrics))!["overall"]!["count"]!);
        Assert.Equal(ExitCodes.Usage, CliApp.Run(new[] { "eval", "--data", Path.Combine(data, "test.json") }, new StringWriter(), new StringWriter()));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void DemoWritesAReportWithPlots()
    {
        using var dir = new TempDir();
        string folder = Path.Combine(dir.Path, "demo");
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "demo", "--out", folder, "--steps", "5", "--records", "120", "--eval-records", "40", "--device", "cpu" }, output, new StringWriter()));
        string report = File.ReadAllText(Path.Combine(folder, "report.md"));
        Assert.Contains("| grpo |", report, StringComparison.Ordinal);
        Assert.Contains("| anatomy-r1 |", report, StringComparison.Ordinal);
        Assert.Contains("| start (built-in checkpoint) |", report, StringComparison.Ordinal);
        foreach (string png in new[] { "reward.png", "s_q.png", "invalid_gradient.png", "invalid_gradient_per_class.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(folder, png));
            Assert.True(bytes.Length > 5000, $"{png} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
            Assert.Contains($"({png})", report, StringComparison.Ordinal);
        }

        Assert.Equal(5, File.ReadAllLines(Path.Combine(folder, "runs", "anatomy-r1", "metrics.jsonl")).Length);
        Assert.False(Directory.Exists(folder + ".partial"));

        // results.json: one entry per method with the paired interval against the start and the headroom metrics.
        using var results = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "results.json")));
        var methods = results.RootElement.GetProperty("methods").EnumerateArray().ToList();
        Assert.Equal(new[] { "start", "grpo", "anatomy-r1" }, methods.Select(m => m.GetProperty("name").GetString()).ToArray());
        foreach (var m in methods)
        {
            double accuracy = m.GetProperty("accuracy").GetDouble();
            double delta = m.GetProperty("delta_vs_start").GetDouble();
            var ci = m.GetProperty("delta_ci95").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.InRange(accuracy, 0, 1);
            Assert.Equal(accuracy - methods[0].GetProperty("accuracy").GetDouble(), delta, 5);
            Assert.True(ci[0] <= delta + 1e-9 && delta <= ci[1] + 1e-9, $"{delta} outside [{ci[0]}, {ci[1]}]");
            Assert.True(m.GetProperty("pass_at_k").GetDouble() >= m.GetProperty("sampled_accuracy").GetDouble());
            foreach (string field in new[] { "n", "perception", "maj_at_k", "mcnemar_p" })
            {
                Assert.True(m.TryGetProperty(field, out _), field);
            }
        }

        Assert.Contains("Δ vs start [95% CI]", report, StringComparison.Ordinal);
        Assert.Contains("Held-out accuracy (greedy)", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void SynthWritesADatasetThatInspectLoads()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "synth");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "synth", "--out", output, "--count", "60", "--seed", "3", "--families", "positional,two-hop" }, stdout, stderr));
        Assert.Contains("Wrote 60 records about 60 scenes", stdout.ToString(), StringComparison.Ordinal);

        var inspect = new StringWriter();
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "inspect", Path.Combine(output, "train.json"), "--check-images", "--json" }, inspect, stderr));
        var json = System.Text.Json.Nodes.JsonNode.Parse(inspect.ToString())!;
        Assert.Equal(48, (int)json["loaded"]!);
        Assert.Equal(new[] { "Positional", "TwoHop" }, json["families"]!.AsObject().Select(p => p.Key).Order());

        // A second run into the same folder is refused (exit 1), and --families rejects unknown names (exit 2).
        Assert.Equal(ExitCodes.BadInput, CliApp.Run(new[] { "synth", "--out", output, "--count", "5" }, new StringWriter(), stderr));
        Assert.Equal(ExitCodes.Usage, CliApp.Run(new[] { "synth", "--out", output, "--families", "three-hop" }, new StringWriter(), new StringWriter()));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void EvalAnswersWithAPolicyOfAnyRegisteredArchitecture()
    {
        PatchPolicy.Register();
        using var dir = new TempDir();
        SyntheticDatasetWriter.Write(dir.Path, new SyntheticDatasetOptions { Count = 20, Seed = 3 }, overwrite: true);
        string data = System.IO.Path.Combine(dir.Path, "test.json");
        string model = System.IO.Path.Combine(dir.Path, "patch-policy");
        using (var policy = PatchPolicy.Create(seed: 1))
        {
            policy.Save(model);
        }

        var (code, output, error) = Invoke("eval", "--data", data, "--model", model, "--json", "--device", "cpu");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, error);
        var json = JsonNode.Parse(output)!;

        // The same questions answered by the same folder through the library give the same metrics.
        var questions = VqaDataLoader.Load(data).Samples.Where(s => s.IsMultipleChoice).ToList();
        var ml = new Microsoft.ML.MLContext(seed: 0);
        using var transformer = new VlmTransformer(PolicyRegistry.Load(model, "cpu"));
        Assert.IsType<PatchPolicy>(transformer.Policy);
        var expected = new VqaEvaluator(new VqaEvaluatorOptions { Strategy = AnswerExtractionStrategy.TagLetter }).Evaluate(transformer.Transform(ml.Data.LoadFromEnumerable(questions)));
        Assert.Equal(JsonNode.Parse(expected.ToJson())!.ToJsonString(), json.ToJsonString());
        Assert.Equal(questions.Count, (int)json["overall"]!["count"]!);

        // A folder whose model type nobody registered is a clear, one-line error.
        File.WriteAllText(System.IO.Path.Combine(model, "config.json"), "{\"model_type\": \"unknown-vlm\"}");
        var (badCode, _, badError) = Invoke("eval", "--data", data, "--model", model, "--device", "cpu");
        Assert.Equal(ExitCodes.BadInput, badCode);
        Assert.Contains("model_type 'unknown-vlm' is not registered", badError, StringComparison.Ordinal);
    }

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
