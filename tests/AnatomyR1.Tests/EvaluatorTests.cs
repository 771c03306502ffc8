using AnatomyR1.Testing;
using AnatomyR1.Data;
using AnatomyR1.Evaluation;
using AnatomyR1.Prompts;
using Microsoft.ML;
using Xunit;

namespace AnatomyR1.Tests;

public sealed class EvaluatorTests
{
    private sealed class Row
    {
        public string[] Options { get; set; } = Array.Empty<string>();

        public int CorrectIndex { get; set; }

        public string Answer { get; set; } = string.Empty;

        public string AnswerClass { get; set; } = string.Empty;

        public string QuestionFamily { get; set; } = string.Empty;

        public string Modality { get; set; } = string.Empty;

        public string QuestionType { get; set; } = string.Empty;

        public string Completion { get; set; } = string.Empty;
    }

    private static Row Mc(int correct, string completion, string family, string modality = "Endoscopy")
    {
        var options = new[] { "Liver", "Gut", "Omentum" };
        return new Row
        {
            Options = options, CorrectIndex = correct, Answer = options[correct], AnswerClass = options[correct],
            QuestionFamily = family, Modality = modality, QuestionType = "Anatomy Identification", Completion = completion,
        };
    }

    [Fact]
    public void HandComputedMetrics()
    {
        var rows = new[]
        {
            Mc(0, "<think>a</think> <answer>A</answer>", "Positional"),          // Liver → Liver ✓, formatted
            Mc(0, "<answer>B</answer>", "Positional"),                           // Liver → Gut ✗
            Mc(1, "<think>a</think> <answer>Gut</answer>", "OneHop"),            // Gut → Gut ✓, formatted
            Mc(2, "no answer at all", "OneHop", "CT"),                           // Omentum → none ✗
            Mc(2, "<think>b</think><answer>C</answer>", "TwoHop", "CT"),         // Omentum → Omentum ✓, formatted
        };
        var ml = new MLContext(seed: 1);
        var result = ml.AnatomyR1().Evaluate(ml.Data.LoadFromEnumerable(rows));

        Assert.Equal(new GroupAccuracy(5, 3), result.Overall);
        Assert.Equal(0.6, result.Overall.Accuracy, 12);
        Assert.Equal(Math.Sqrt(0.6 * 0.4 / 5), result.Overall.StandardError, 12);
        Assert.Equal(1, result.Unanswered);
        Assert.Equal(0.6, result.FormatCompliance!.Value, 12);
        Assert.Equal(new GroupAccuracy(2, 1), result.ByClass["Liver"]);
        Assert.Equal(new GroupAccuracy(1, 1), result.ByClass["Gut"]);
        Assert.Equal(new GroupAccuracy(2, 1), result.ByClass["Omentum"]);
        Assert.Equal(new GroupAccuracy(2, 1), result.ByFamily["Positional"]);
        Assert.Equal(new GroupAccuracy(2, 1), result.ByFamily["OneHop"]);
        Assert.Equal(new GroupAccuracy(1, 1), result.ByFamily["TwoHop"]);
        Assert.Equal(new GroupAccuracy(3, 2), result.ByModality["Endoscopy"]);
        Assert.Equal(new GroupAccuracy(2, 1), result.ByModality["CT"]);
        Assert.Equal(new GroupAccuracy(5, 3), result.ByQuestionType["Anatomy Identification"]);

        Assert.Equal(new[] { "Gut", "Liver", "Omentum", ConfusionMatrix.NoAnswer }, result.Confusion.Labels);
        Assert.Equal(1, result.Confusion["Liver", "Liver"]);
        Assert.Equal(1, result.Confusion["Liver", "Gut"]);
        Assert.Equal(1, result.Confusion["Omentum", ConfusionMatrix.NoAnswer]);
        Assert.Equal(5, result.Confusion.Counts.Sum(r => r.Sum()));
    }

    [Fact]
    public void StrategyChangesHowCompletionsAreRead()
    {
        var rows = new[] { Mc(0, "<answer>Liver</answer>", "Positional") };
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(rows);
        Assert.Equal(1, ml.AnatomyR1().Evaluate(view, AnswerExtractionStrategy.OptionText).Overall.Correct);
        Assert.Equal(0, ml.AnatomyR1().Evaluate(view, AnswerExtractionStrategy.TagLetter).Overall.Correct);
        Assert.Equal(1, ml.AnatomyR1().Evaluate(view, AnswerExtractionStrategy.NearestOption).Overall.Correct);
    }

    [Fact]
    public void JsonRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var result = ml.AnatomyR1().Evaluate(ml.Data.LoadFromEnumerable(new[] { Mc(0, "<answer>A</answer>", "Positional"), Mc(1, "<answer>A</answer>", "OneHop") }));
        string json = result.ToJson();
        Assert.Contains("\"accuracy\": 0.5", json, StringComparison.Ordinal);
        Assert.Contains("\"standardError\"", json, StringComparison.Ordinal);
        var back = VqaEvaluationResult.FromJson(json);
        Assert.Equal(result.Overall, back.Overall);
        Assert.Equal(result.ByFamily["OneHop"], back.ByFamily["OneHop"]);
        Assert.Equal(result.Confusion.Labels, back.Confusion.Labels);
        Assert.Equal(result.Confusion.Counts.Select(r => r.ToArray()), back.Confusion.Counts.Select(r => r.ToArray()));
    }

    [SharedDataFact]
    public void MissingPredictionColumnIsAClearError()
    {
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(VqaDataLoader.Load(TestData.GrpoJson).Samples.Take(3));
        var ex = Assert.Throws<ArgumentException>(() => ml.AnatomyR1().Evaluate(view));
        Assert.Contains("no prediction column", ex.Message, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void PredictionFileJoinsByIndexAndCountsMissing()
    {
        using var dir = new TempDir();
        var samples = VqaDataLoader.Load(TestData.GrpoJson).Samples;
        var lines = samples.Take(10).Select(s => $"{{\"index\": {s.RecordIndex}, \"letter\": \"{s.CorrectLetter}\"}}");
        string file = dir.File("pred.jsonl", string.Join("\n", lines) + "\n");
        var ml = new MLContext(seed: 1);
        var view = PredictionFile.Join(ml, samples, PredictionFile.Read(file), file, out int missing);
        Assert.Equal(990, missing);
        var result = ml.AnatomyR1().Evaluate(view);
        Assert.Equal(new GroupAccuracy(1000, 10), result.Overall);
        Assert.Equal(990, result.Unanswered);
        Assert.Null(result.FormatCompliance);
    }

    [SharedDataFact]
    public void PredictionFileErrorsNameTheLine()
    {
        using var dir = new TempDir();
        var samples = VqaDataLoader.Load(TestData.GrpoJson).Samples;
        var ml = new MLContext(seed: 1);

        var bad = Assert.Throws<VqaDataException>(() => PredictionFile.Read(dir.File("a.jsonl", "{\"index\": 0, \"letter\": \"A\"}\n{\"index\": 1}\n")));
        Assert.Equal(2, bad.Issue.Line);

        var broken = Assert.Throws<VqaDataException>(() => PredictionFile.Read(dir.File("b.jsonl", "{\"index\": 0, \"letter\": \"A\"}\n\n{oops\n")));
        Assert.Equal(3, broken.Issue.Line);

        string unknown = dir.File("c.jsonl", "{\"id\": \"nope\", \"letter\": \"A\"}\n");
        var ex = Assert.Throws<VqaDataException>(() => PredictionFile.Join(ml, samples, PredictionFile.Read(unknown), unknown, out _));
        Assert.Equal("id", ex.Issue.Field);

        string twice = dir.File("d.jsonl", "{\"index\": 3, \"letter\": \"A\"}\n{\"id\": \"GRPO.json#3\", \"letter\": \"B\"}\n");
        var dup = Assert.Throws<VqaDataException>(() => PredictionFile.Join(ml, samples, PredictionFile.Read(twice), twice, out _));
        Assert.Equal(2, dup.Issue.Line);

        string mixed = dir.File("e.jsonl", "{\"index\": 3, \"letter\": \"A\"}\n{\"index\": 4, \"completion\": \"x\"}\n");
        Assert.Throws<VqaDataException>(() => PredictionFile.Join(ml, samples, PredictionFile.Read(mixed), mixed, out _));
    }

    /// <summary>Writes the same SSG-VQA frame (VID01/000001, two questions) into two folders, <c>a</c> and <c>b</c>.</summary>
    private static string TwoFoldersWithTheSameFrame(TempDir dir)
    {
        foreach (string folder in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, folder, "VID01"));
            dir.File(Path.Combine(folder, "VID01", "000001.txt"),
                "Video: VID01 Frame: 000001\nquestion|answer|template|type|relation\nWhat is it?|liver|t.json|query_component|none\nWhat is below?|gut|t.json|query_component|none\n");
        }

        return dir.Path;
    }

    [Fact]
    public void JoinRefusesAnIdOrIndexThatTwoRecordsShare()
    {
        using var dir = new TempDir();
        var samples = VqaDataLoader.Load(TwoFoldersWithTheSameFrame(dir)).Samples;
        Assert.Equal(new[] { "VID01/000001#0", "VID01/000001#1", "VID01/000001#0", "VID01/000001#1" }, samples.Select(s => s.SampleId));
        var ml = new MLContext(seed: 1);

        // Matched to the first of the two records, the prediction would score 50%: one right, one unanswered.
        string byId = dir.File("by-id.jsonl", "{\"id\": \"VID01/000001#1\", \"answer\": \"gut\"}\n");
        var ex = Assert.Throws<VqaDataException>(() => PredictionFile.Join(ml, samples, PredictionFile.Read(byId), byId, out _));
        Assert.Equal("id", ex.Issue.Field);
        Assert.StartsWith("by-id.jsonl: field 'id': id 'VID01/000001#0' is ambiguous: 2 records of the data have it (", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(dir.Path, "a", "VID01", "000001.txt") + " record 0 (line 3)", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(dir.Path, "b", "VID01", "000001.txt") + " record 0 (line 3)", ex.Message, StringComparison.Ordinal);

        string byIndex = dir.File("by-index.jsonl", "{\"index\": 1, \"answer\": \"gut\"}\n");
        var indexError = Assert.Throws<VqaDataException>(() => PredictionFile.Join(ml, samples, PredictionFile.Read(byIndex), byIndex, out _));
        Assert.Equal("index", indexError.Issue.Field);
        Assert.Contains("record index 0 is ambiguous: 2 records of the data have it", indexError.Message, StringComparison.Ordinal);

        // One copy of the frame: the same predictions join and score.
        var single = VqaDataLoader.Load(Path.Combine(dir.Path, "a")).Samples;
        var view = PredictionFile.Join(ml, single, PredictionFile.Read(byId), byId, out int missing);
        Assert.Equal(1, missing);
        Assert.Equal(new GroupAccuracy(2, 1), ml.AnatomyR1().Evaluate(view).Overall);
    }

    [Fact]
    public void PredictionFileRefusesInvalidUtf8AndDuplicateKeys()
    {
        using var dir = new TempDir();
        byte[] bytes = [.. "{\"index\": 0, \"answer\": \"liver\"}\n{\"index\": 1, \"answer\": \"caf"u8, 0xE9, .. "\"}\n"u8];
        var utf8 = Assert.Throws<VqaDataException>(() => PredictionFile.Read(dir.File("a.jsonl", bytes)));
        Assert.Equal(2, utf8.Issue.Line);
        Assert.StartsWith("a.jsonl: line 2: invalid UTF-8 (0xE9) at byte 28 of the line, byte offset 59 of the file", utf8.Message, StringComparison.Ordinal);

        string twice = dir.File("b.jsonl", "{\"index\": 0, \"answer\": \"liver\"}\n{\"index\": 1, \"answer\": \"gut\", \"answer\": \"liver\"}\n");
        var duplicate = Assert.Throws<VqaDataException>(() => PredictionFile.Read(twice));
        Assert.Equal((2, "answer"), (duplicate.Issue.Line, duplicate.Issue.Field));
        Assert.Contains("the key appears more than once", duplicate.Message, StringComparison.Ordinal);
    }
}
