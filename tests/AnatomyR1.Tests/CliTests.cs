using AnatomyR1.Testing;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Cli;
using Xunit;

namespace AnatomyR1.Tests;

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
}

public sealed class SynthCliTests
{
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
}
