using AnatomyR1.Testing;
using System.Text.Json;
using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>The published Anatomy-R1 records load completely and agree with their own fields.</summary>
public sealed class AnatomyR1ConformanceTests
{
    public static TheoryData<string> Files => new() { "GRPO.json", "GRPO-ASC-Learning.json" };

    [SharedDataTheory]
    [MemberData(nameof(Files))]
    public void EveryRecordLoadsAndAgreesWithTheRawJson(string name)
    {
        string path = Path.Combine(TestData.SharedAnatomyR1, name);
        var result = VqaDataLoader.Load(path);
        Assert.Equal(VqaFormat.AnatomyR1Json, result.Report.Format);
        Assert.Equal(1000, result.Report.InputCount);
        Assert.Equal(1000, result.Report.LoadedCount);
        Assert.Empty(result.Report.Issues);

        using var raw = JsonDocument.Parse(File.ReadAllBytes(path));
        var records = raw.RootElement.EnumerateArray().ToArray();
        for (int i = 0; i < records.Length; i++)
        {
            var sample = result.Samples[i];
            Assert.Equal(i, sample.RecordIndex);
            Assert.Equal(4, sample.Options.Length);
            Assert.Equal(records[i].GetProperty("solution").GetString(), sample.CorrectLetter);
            Assert.Equal(records[i].GetProperty("answer").GetString(), sample.Answer);
            Assert.Equal(sample.Answer, sample.Options[sample.CorrectIndex]);
            Assert.Equal(records[i].GetProperty("images").GetString()!.Trim(), sample.ImagePath);
            Assert.Contains("Question:\n" + sample.Question + "\nAnatomy Options:", records[i].GetProperty("instruction").GetString(), StringComparison.Ordinal);
            Assert.Equal(sample.Options.Length, sample.Options.Distinct().Count());
        }
    }

    [SharedDataFact]
    public void ClassCountsOfGrpoJson()
    {
        var counts = VqaDataLoader.Load(TestData.GrpoJson).Samples.GroupBy(s => s.AnswerClass).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(
            new Dictionary<string, int>
            {
                ["Liver"] = 232, ["Omentum"] = 187, ["Abdominal Wall Cavity"] = 178,
                ["Gallbladder"] = 147, ["Cystic Plate"] = 141, ["Gut"] = 115,
            },
            counts);
    }

    [SharedDataFact]
    public void ClassCountsOfAscLearningJson()
    {
        var counts = VqaDataLoader.Load(TestData.AscJson).Samples.GroupBy(s => s.AnswerClass).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(
            new Dictionary<string, int>
            {
                ["Abdominal Wall Cavity"] = 239, ["Omentum"] = 216, ["Liver"] = 180,
                ["Cystic Plate"] = 130, ["Gallbladder"] = 120, ["Gut"] = 115,
            },
            counts);
    }

    [SharedDataTheory]
    [MemberData(nameof(Files))]
    public void EveryQuestionFallsInAnSsgVqaFamily(string name)
    {
        var samples = VqaDataLoader.Load(Path.Combine(TestData.SharedAnatomyR1, name)).Samples;
        var families = samples.GroupBy(s => s.QuestionFamily).ToDictionary(g => g.Key, g => g.Count());
        Assert.DoesNotContain(nameof(QuestionFamily.Other), families.Keys);
        foreach (string family in new[] { "Positional", "Attribute", "OneHop", "TwoHop" })
        {
            Assert.True(families.GetValueOrDefault(family) > 50, $"{name}: family {family} has {families.GetValueOrDefault(family)} records");
        }
    }

    [SharedDataFact]
    public void PrefixMapAndImageRootResolvePublishedPaths()
    {
        using var dir = new TempDir();
        var options = new VqaLoaderOptions { ImageRoot = dir.Path };
        options.PrefixMaps.Add(new ImagePathPrefixMap("/CholecT45/data/", string.Empty));
        var first = VqaDataLoader.Load(TestData.GrpoJson, options).Samples[0];
        Assert.Equal(Path.Combine(dir.Path, "VID66", "000791.png"), first.ImagePath);
    }

    [SharedDataFact]
    public void SftInstructionVariantLoadsLikeSftPrompt()
    {
        using var dir = new TempDir();
        string text = File.ReadAllText(TestData.GrpoJson).Replace("\"sft_prompt\"", "\"sft_instruction\"", StringComparison.Ordinal);
        var variant = VqaDataLoader.Load(dir.File("variant.json", text)).Samples;
        var original = VqaDataLoader.Load(TestData.GrpoJson).Samples;
        Assert.Equal(original.Select(s => (s.Question, s.CorrectIndex)), variant.Select(s => (s.Question, s.CorrectIndex)));
    }

    [SharedDataFact]
    public void SftPromptAloneIsEnough()
    {
        using var dir = new TempDir();
        string json = """
            [{"sft_prompt": "<image>Look.\nQuestion:\nWhat is the top-left anatomy?\nAnatomy Options:\nA. Liver\nB. Gut", "solution": "B", "images": "a.png"}]
            """;
        var sample = Assert.Single(VqaDataLoader.Load(dir.File("d.json", json)).Samples);
        Assert.Equal("What is the top-left anatomy?", sample.Question);
        Assert.Equal("Gut", sample.Answer);
        Assert.Equal(nameof(QuestionFamily.Attribute), sample.QuestionFamily);
    }

    [SharedDataFact]
    public void DataViewCarriesTheSchema()
    {
        var ml = new MLContext(seed: 1);
        IDataView view = ml.Data.LoadVqa(TestData.GrpoJson);
        Assert.Equal(new VectorDataViewType(TextDataViewType.Instance), view.Schema[VqaColumns.Options].Type);
        Assert.Equal(NumberDataViewType.Int32, view.Schema[VqaColumns.CorrectIndex].Type);
        Assert.Equal(TextDataViewType.Instance, view.Schema[VqaColumns.AnswerClass].Type);
        Assert.Null(view.Schema.GetColumnOrNull("IsMultipleChoice"));
        var letters = view.GetColumn<string>(VqaColumns.CorrectLetter).ToArray();
        Assert.Equal(1000, letters.Length);
        Assert.All(letters, l => Assert.Contains(l, new[] { "A", "B", "C", "D" }));
        var options = view.GetColumn<string[]>(VqaColumns.Options).First();
        Assert.Equal(new[] { "Gallbladder", "Liver", "Abdominal Wall Cavity", "Omentum" }, options);
    }
}
