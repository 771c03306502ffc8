using AnatomyR1.Testing;
using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>OmniMedVQA JSON and SSG-VQA text on small fixtures, and format detection.</summary>
public sealed class OtherFormatTests
{
    private static string OmniFile => Path.Combine(TestData.Fixtures, "omnimedvqa", "QA_information", "Open-access", "Demo-Chest.json");

    private static string SsgFolder => Path.Combine(TestData.Fixtures, "ssg-vqa", "qa_txt");

    [Fact]
    public void OmniMedVqaRecordsLoadWithOptionalOptionsAndBothModalityKeys()
    {
        var result = VqaDataLoader.Load(OmniFile);
        Assert.Equal(VqaFormat.OmniMedVqaJson, result.Report.Format);
        var s = result.Samples;
        Assert.Equal(4, s.Count);

        Assert.Equal("Demo-Chest_0001", s[0].SampleId);
        Assert.Equal(new[] { "MRI", "CT", "X-ray", "Ultrasound" }, s[0].Options);
        Assert.Equal(1, s[0].CorrectIndex);
        Assert.Equal("B", s[0].CorrectLetter);
        Assert.Equal("CT", s[0].Modality);
        Assert.Equal("Modality Recognition", s[0].QuestionType);
        Assert.Equal("Demo-Chest", s[0].Dataset);
        // Without an image root, OmniMedVQA's relative paths point below the folder that holds QA_information.
        Assert.Equal(Path.Combine(TestData.Fixtures, "omnimedvqa", "Images", "Demo-Chest", "ct_0001.png"), s[0].ImagePath);

        Assert.Equal(2, s[1].Options.Length);
        Assert.Equal(0, s[1].CorrectIndex);

        Assert.Equal(3, s[2].Options.Length);
        Assert.Equal("X-Ray", s[2].Modality); // from the 'modality' key
        Assert.Equal(2, s[2].CorrectIndex);

        Assert.Equal(1, s[3].CorrectIndex); // 'grade 2' matches 'Grade 2' ignoring case
        Assert.Equal("Grade 2", s[3].Answer);
    }

    [Fact]
    public void OmniMedVqaImagePathsResolveUnderTheRoot()
    {
        var samples = VqaDataLoader.Load(OmniFile, new VqaLoaderOptions { ImageRoot = "/data/OmniMedVQA" }).Samples;
        Assert.Equal("/data/OmniMedVQA/Images/Demo-Chest/ct_0001.png", samples[0].ImagePath);
    }

    [Fact]
    public void SsgVqaFolderLoadsEveryQuestionLine()
    {
        var result = VqaDataLoader.Load(SsgFolder, new VqaLoaderOptions { ImageRoot = "/data/cholect45" });
        Assert.Equal(VqaFormat.SsgVqaText, result.Report.Format);
        Assert.Equal(6, result.Report.InputCount);
        var s = result.Samples;
        Assert.Equal(6, s.Count);

        Assert.Equal("VID01/000123#0", s[0].SampleId);
        Assert.Equal("liver", s[0].Answer);
        Assert.Equal("Liver", s[0].AnswerClass);
        Assert.Empty(s[0].Options);
        Assert.Equal(-1, s[0].CorrectIndex);
        Assert.Equal(nameof(QuestionFamily.Positional), s[0].QuestionFamily);
        Assert.Equal("/data/cholect45/VID01/000123.png", s[0].ImagePath);
        Assert.Equal(3, s[0].Line);

        Assert.Equal(nameof(QuestionFamily.Count), s[1].QuestionFamily);
        Assert.Equal(nameof(QuestionFamily.Existence), s[2].QuestionFamily);
        Assert.Equal(6, s[2].Line); // the blank line is skipped but counted
        Assert.Equal("Abdominal Wall Cavity", s[3].AnswerClass);
        Assert.Equal(nameof(QuestionFamily.OneHop), s[3].QuestionFamily);

        // The CRLF file.
        Assert.Equal(nameof(QuestionFamily.Rephrased), s[4].QuestionFamily);
        Assert.Equal("gallbladder", s[4].Answer);
        Assert.Equal("query_component", s[4].QuestionType);
        Assert.Equal(nameof(QuestionFamily.Attribute), s[5].QuestionFamily);
    }

    [Fact]
    public void SsgVqaCatalogExtensionLoadsOneFile()
    {
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadSsgVqa(Path.Combine(SsgFolder, "VID22", "000050.txt"));
        Assert.Equal(new[] { "gallbladder", "liver" }, view.GetColumn<string>("Answer").ToArray());
    }

    [SharedDataFact]
    public void FormatIsDetected()
    {
        Assert.Equal(VqaFormat.AnatomyR1Json, VqaDataLoader.DetectFormat(TestData.GrpoJson));
        Assert.Equal(VqaFormat.OmniMedVqaJson, VqaDataLoader.DetectFormat(OmniFile));
        Assert.Equal(VqaFormat.SsgVqaText, VqaDataLoader.DetectFormat(SsgFolder));
    }

    [Fact]
    public void UnknownJsonShapeIsAClearError()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(dir.File("x.json", "[{\"foo\": 1, \"bar\": 2}]")));
        Assert.Contains("cannot detect the format", ex.Message, StringComparison.Ordinal);
        Assert.Contains("foo, bar", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OfficialSsgVqaSplitsAreDisjoint()
    {
        Assert.Equal(5, SsgVqaTextReader.ValidationVideos.Count);
        Assert.Empty(SsgVqaTextReader.ValidationVideos.Intersect(SsgVqaTextReader.TestVideos));
    }
}
