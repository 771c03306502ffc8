using AnatomyR1.Testing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>Each kind of bad input gives an error naming the file, the record or line and the field; nothing is lost.</summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static JsonObject Record(string solution = "B", string answer = "Liver", string options = "A. Gallbladder\nB. Liver\nC. Gut\nD. Omentum")
    {
        string prompt = "You are an expert.\nQuestion:\nWhat anatomy is at the top-left of the frame ?\nAnatomy Options:\n" + options;
        return new JsonObject
        {
            ["instruction"] = prompt,
            ["sft_prompt"] = "<image>" + prompt,
            ["solution"] = solution,
            ["answer"] = answer,
            ["images"] = " /CholecT45/data/VID01/000001.png",
        };
    }

    /// <summary>Writes three good records with <paramref name="bad"/> as record 1 and loads strictly.</summary>
    private VqaDataException StrictError(JsonNode bad)
    {
        string path = Write(bad);
        return Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
    }

    private string Write(JsonNode bad, string name = "data.json")
    {
        var array = new JsonArray(Record(), bad, Record("C", "Gut"));
        return _dir.File(name, array.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private static void AssertNames(VqaDataException ex, string field, int record = 1)
    {
        Assert.Equal("data.json", Path.GetFileName(ex.Issue.File));
        Assert.Equal(record, ex.Issue.RecordIndex);
        Assert.Equal(field, ex.Issue.Field);
        Assert.NotNull(ex.Issue.Line);
        Assert.Contains("data.json: record 1 (line ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"field '{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordLineIsTheLineWhereTheRecordStarts()
    {
        var ex = StrictError(Record(solution: "E"));
        // Indented output: '[' on line 1, record 0 starts on line 2 and has 7 lines, so record 1 starts on line 9.
        Assert.Equal(9, ex.Issue.Line);
    }

    [Fact]
    public void MalformedJsonNamesLineAndRecord()
    {
        string text = new JsonArray(Record(), Record()).ToJsonString();
        string broken = text.Replace("\"solution\":\"B\",\"answer\"", "\"solution\":\"B\" \"answer\"", StringComparison.Ordinal);
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(_dir.File("data.json", broken)));
        Assert.Contains("malformed JSON", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, ex.Issue.RecordIndex);
        Assert.Equal(1, ex.Issue.Line);
    }

    [SharedDataFact]
    public void TruncatedFileIsAnErrorInStrictAndLenientMode()
    {
        byte[] full = File.ReadAllBytes(TestData.GrpoJson);
        string path = _dir.File("data.json", full[..(full.Length / 2)]);
        var strict = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        var lenient = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false }));
        Assert.Contains("malformed JSON", strict.Message, StringComparison.Ordinal);
        Assert.Equal(strict.Message, lenient.Message);
        Assert.InRange(strict.Issue.RecordIndex!.Value, 400, 600);
    }

    [Fact]
    public void TopLevelObjectIsRejected()
    {
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(_dir.File("data.json", "{\"records\": []}")));
        Assert.Contains("expected a JSON array", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFileIsRejected()
    {
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(_dir.File("data.json", "  ")));
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongTypeNamesTheField()
    {
        var record = Record();
        record["solution"] = 2;
        var ex = StrictError(record);
        AssertNames(ex, "solution");
        Assert.Contains("expected a string, found a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordThatIsNotAnObjectIsRejected()
    {
        var ex = StrictError(JsonValue.Create("just text")!);
        Assert.Equal(1, ex.Issue.RecordIndex);
        Assert.Contains("expected a JSON object, found a string", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("images")]
    [InlineData("instruction")]
    [InlineData("solution")]
    public void MissingFieldNamesIt(string field)
    {
        var record = Record();
        record.Remove(field);
        if (field == "instruction")
        {
            record.Remove("sft_prompt");
        }

        if (field == "solution")
        {
            record.Remove("answer");
        }

        var ex = StrictError(record);
        AssertNames(ex, field);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnswerNotAmongTheOptions()
    {
        var ex = StrictError(Record(answer: "Spleen"));
        AssertNames(ex, "answer");
        Assert.Contains("'Spleen' is not among the options", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnswerContradictingTheLetter()
    {
        var ex = StrictError(Record(solution: "A", answer: "Liver"));
        AssertNames(ex, "answer");
        Assert.Contains("is option B, but 'solution' says A", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("E")]
    [InlineData("Z")]
    public void LetterOutOfRange(string letter)
    {
        var ex = StrictError(Record(solution: letter));
        AssertNames(ex, "solution");
        Assert.Contains($"letter '{letter}' is out of range: the record has 4 options (A–D)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SolutionThatIsNotALetter()
    {
        var ex = StrictError(Record(solution: "Liver"));
        AssertNames(ex, "solution");
    }

    [Fact]
    public void DuplicateOptions()
    {
        var ex = StrictError(Record(options: "A. Gallbladder\nB. Liver\nC. liver\nD. Omentum"));
        AssertNames(ex, "instruction");
        Assert.Contains("options B and C are the same", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyOption()
    {
        var ex = StrictError(Record(options: "A. Gallbladder\nB. Liver\nC. \nD. Omentum"));
        AssertNames(ex, "instruction");
        Assert.Contains("option C is empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FewerThanTwoOptions()
    {
        var ex = StrictError(Record(solution: "A", answer: "Liver", options: "A. Liver"));
        AssertNames(ex, "instruction");
        Assert.Contains("at least 2 options, found 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionLettersOutOfOrder()
    {
        var ex = StrictError(Record(options: "A. Gallbladder\nB. Liver\nD. Gut\nC. Omentum"));
        Assert.Contains("expected C, found D", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SftPromptDisagreeingWithInstruction()
    {
        var record = Record();
        record["sft_prompt"] = "<image>Question:\nWhat?\nAnatomy Options:\nA. Gallbladder\nB. Liver\nC. Gut\nD. Cystic Plate";
        var ex = StrictError(record);
        AssertNames(ex, "sft_prompt");
    }

    [Fact]
    public void MissingImageFileWhenChecksAreOn()
    {
        string path = Write(Record());
        var options = new VqaLoaderOptions { CheckImages = true, ImageRoot = _dir.Path };
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path, options));
        Assert.Equal(0, ex.Issue.RecordIndex);
        Assert.Equal("images", ex.Issue.Field);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);

        // With the image present the record loads.
        string image = Path.Combine(_dir.Path, "CholecT45", "data", "VID01", "000001.png");
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        File.WriteAllBytes(image, new byte[] { 1 });
        Assert.Equal(3, VqaDataLoader.Load(path, options).Samples.Count);
    }

    [Fact]
    public void PathEscapingTheRootIsAnError()
    {
        var record = Record();
        record["images"] = "../../etc/passwd";
        string path = Write(record);
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path, new VqaLoaderOptions { ImageRoot = _dir.Path }));
        AssertNames(ex, "images");
        Assert.Contains("outside the image root", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ByteOrderMarkIsAccepted()
    {
        string text = new JsonArray(Record(), Record("C", "Gut")).ToJsonString();
        var plain = VqaDataLoader.Load(_dir.File("plain.json", text)).Samples;
        var utf8Bom = VqaDataLoader.Load(_dir.File("bom.json", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text)).ToArray())).Samples;
        var utf16Bom = VqaDataLoader.Load(_dir.File("bom16.json", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray())).Samples;
        Assert.Equal(plain.Select(s => (s.Question, s.CorrectIndex)), utf8Bom.Select(s => (s.Question, s.CorrectIndex)));
        Assert.Equal(plain.Select(s => (s.Question, s.CorrectIndex)), utf16Bom.Select(s => (s.Question, s.CorrectIndex)));
    }

    [SharedDataFact]
    public void CrlfLineEndingsLoadLikeLf()
    {
        string lf = File.ReadAllText(TestData.AscJson);
        string crlf = lf.Replace("\n", "\r\n", StringComparison.Ordinal).Replace("\\n", "\\r\\n", StringComparison.Ordinal);
        var a = VqaDataLoader.Load(TestData.AscJson).Samples;
        var b = VqaDataLoader.Load(_dir.File("crlf.json", crlf)).Samples;
        Assert.Equal(a.Select(s => (s.Question, string.Join('|', s.Options), s.CorrectIndex, s.Line)),
            b.Select(s => (s.Question, string.Join('|', s.Options), s.CorrectIndex, s.Line)));
    }

    [Fact]
    public void LenientModeSkipsAndReportsEveryBadRecord()
    {
        var records = new JsonArray();
        for (int i = 0; i < 10; i++)
        {
            records.Add(i switch
            {
                2 => Record(solution: "E"),
                5 => Record(answer: "Spleen"),
                7 => Record(options: "A. Liver\nB. Liver"),
                _ => Record(),
            });
        }

        string path = _dir.File("data.json", records.ToJsonString());
        var result = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(10, result.Report.InputCount);
        Assert.Equal(7, result.Report.LoadedCount);
        Assert.Equal(3, result.Report.SkippedCount);
        Assert.Equal(result.Report.InputCount, result.Report.LoadedCount + result.Report.SkippedCount);
        Assert.Equal(new int?[] { 2, 5, 7 }, result.Report.Issues.Select(i => i.RecordIndex));
        Assert.Equal(new[] { "solution", "answer", "instruction" }, result.Report.Issues.Select(i => i.Field));
        Assert.Equal(new[] { 0, 1, 3, 4, 6, 8, 9 }, result.Samples.Select(s => s.RecordIndex));

        // Strict mode stops at the first one.
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal(2, ex.Issue.RecordIndex);
    }

    [Fact]
    public void OmniMedVqaAnswerNotAmongOptionsAndOptionGap()
    {
        string json = """
            [
              {"question": "Q1?", "gt_answer": "CT", "image_path": "Images/a.png", "option_A": "MRI", "option_B": "X-ray"},
              {"question": "Q2?", "gt_answer": "CT", "image_path": "Images/b.png", "option_A": "MRI", "option_B": "CT", "option_D": "PET"},
              {"question": "Q3?", "gt_answer": "CT", "image_path": "Images/c.png", "option_A": "MRI", "option_B": "CT"}
            ]
            """;
        var result = VqaDataLoader.Load(_dir.File("omni.json", json), new VqaLoaderOptions { Strict = false });
        Assert.Equal(VqaFormat.OmniMedVqaJson, result.Report.Format);
        Assert.Equal(1, result.Report.LoadedCount);
        Assert.Equal(new[] { "gt_answer", "option_D" }, result.Report.Issues.Select(i => i.Field));
        Assert.Equal(new int?[] { 2, 3 }, result.Report.Issues.Select(i => i.Line));
    }

    [Fact]
    public void SsgVqaLineWithoutSeparatorNamesTheLine()
    {
        string path = _dir.File("VID05/000010.txt", "header one\nheader two\nWhat is it?|liver|t.json|query_component|none\nthis line is broken\n");
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal(4, ex.Issue.Line);
        Assert.Equal(1, ex.Issue.RecordIndex);
        Assert.Equal("answer", ex.Issue.Field);

        var lenient = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(2, lenient.Report.InputCount);
        Assert.Equal(1, lenient.Report.LoadedCount);
    }

    /// <summary>
    /// Three records as indented JSON (record 1 starts on line 9, its <c>images</c> value is on line 14), with
    /// <paramref name="bad"/> in place of the text <c>MARKER</c> in record 1's image path.
    /// </summary>
    private static byte[] WithBytesInRecord1(byte[] bad, out int offset, bool quoted = true)
    {
        var middle = Record();
        middle["images"] = "MARKER";
        byte[] text = Encoding.UTF8.GetBytes(new JsonArray(Record(), middle, Record("C", "Gut")).ToJsonString(Indented));
        string marker = quoted ? "MARKER" : "\"MARKER\"";
        offset = text.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker));
        return [.. text[..offset], .. bad, .. text[(offset + marker.Length)..]];
    }

    private static int ColumnOf(byte[] bytes, int offset) => offset - Array.LastIndexOf(bytes, (byte)'\n', offset);

    [Fact]
    public void InvalidUtf8InARecordNamesFileRecordLineAndByteOffset()
    {
        // "caf" and a Latin-1 é: the file was saved in another encoding.
        byte[] bytes = WithBytesInRecord1([0x63, 0x61, 0x66, 0xE9], out int offset);
        int bad = offset + 3;
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(_dir.File("data.json", bytes)));
        Assert.Equal(1, ex.Issue.RecordIndex);
        Assert.Equal(14, ex.Issue.Line);
        Assert.Null(ex.Issue.Field);
        Assert.StartsWith("data.json: record 1 (line 14): invalid UTF-8 (0xE9)", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"at byte {ColumnOf(bytes, bad)} of the line, byte offset {bad} of the file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LenientModeSkipsOnlyTheRecordWithInvalidUtf8()
    {
        // A Latin-1 é and a truncated three-byte sequence, both in record 1.
        string path = _dir.File("data.json", WithBytesInRecord1([0xE9, 0x41, 0xE2, 0x82], out _));
        var result = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(3, result.Report.InputCount);
        Assert.Equal(new[] { 0, 2 }, result.Samples.Select(s => s.RecordIndex));
        Assert.Equal(new[] { "Liver", "Gut" }, result.Samples.Select(s => s.Answer));
        var issue = Assert.Single(result.Report.Issues);
        Assert.Equal((1, 14), (issue.RecordIndex, issue.Line));
        Assert.Contains("invalid UTF-8 (0xE9)", issue.Message, StringComparison.Ordinal);
        Assert.Contains("and 1 more invalid sequence;", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8ThatNoRecordHoldsFailsTheFileInBothModes()
    {
        // In a comment between records 0 and 1 (line 8, where record 0 ends).
        byte[] text = Encoding.UTF8.GetBytes(new JsonArray(Record(), Record()).ToJsonString(Indented));
        int comma = text.AsSpan().IndexOf("},"u8) + 2;
        byte[] inComment = [.. text[..comma], .. " // caf"u8, 0xE9, .. text[comma..]];

        // In place of a value, where the JSON around it cannot be read (record 1's images, line 14).
        byte[] asValue = WithBytesInRecord1([0xE9], out _, quoted: false);

        foreach (var (bytes, line) in new[] { (inComment, 8), (asValue, 14) })
        {
            string path = _dir.File("data.json", bytes);
            var strict = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
            var lenient = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false }));
            Assert.Equal(strict.Message, lenient.Message);
            Assert.Equal(line, strict.Issue.Line);
            Assert.StartsWith($"data.json: line {line}: invalid UTF-8 (0xE9)", strict.Message, StringComparison.Ordinal);
            Assert.Contains("cannot be loaded in either mode", strict.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void UnpairedSurrogateInUtf16IsReportedLikeInvalidUtf8()
    {
        var middle = Record();
        middle["images"] = "MARKER";
        string text = new JsonArray(Record(), middle, Record("C", "Gut")).ToJsonString(Indented).Replace("MARKER", "a\uD800b", StringComparison.Ordinal);
        byte[] bytes = [.. Encoding.Unicode.GetPreamble(), .. MemoryMarshal.AsBytes(text.AsSpan())];
        int bad = 2 + (2 * text.IndexOf('\uD800', StringComparison.Ordinal));
        string path = _dir.File("data.json", bytes);

        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal((1, 14), (ex.Issue.RecordIndex, ex.Issue.Line));
        Assert.Contains($"invalid UTF-16 (an unpaired surrogate 0xD800) at byte offset {bad} of the file", ex.Message, StringComparison.Ordinal);

        var result = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(new[] { 0, 2 }, result.Samples.Select(s => s.RecordIndex));
        Assert.Equal(1, Assert.Single(result.Report.Issues).RecordIndex);
    }

    [Fact]
    public void InvalidUtf8InAnSsgVqaLineSkipsOnlyThatLine()
    {
        byte[] bytes =
        [
            .. Encoding.UTF8.GetPreamble(),
            .. "Video: VID05 Frame: 000010\nquestion|answer|template|type|relation\nWhat is it?|liver|t.json|query_component|none\n"u8,
            .. "What is "u8, 0xE9, .. "?|gut|t.json|query_component|none\r\nWhat is below?|omentum|t.json|query_component|none\n"u8,
        ];
        int bad = Array.IndexOf(bytes, (byte)0xE9);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "VID05"));
        string path = _dir.File(Path.Combine("VID05", "000010.txt"), bytes);

        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal((1, 4), (ex.Issue.RecordIndex, ex.Issue.Line));
        Assert.StartsWith("000010.txt: record 1 (line 4): invalid UTF-8 (0xE9) at byte 9 of the line, byte offset " + bad + " of the file", ex.Message, StringComparison.Ordinal);

        var lenient = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal((3, 2), (lenient.Report.InputCount, lenient.Report.LoadedCount));
        Assert.Equal(new[] { "liver", "omentum" }, lenient.Samples.Select(s => s.Answer));
        Assert.Equal(new[] { 0, 2 }, lenient.Samples.Select(s => s.RecordIndex));
        Assert.Equal(new[] { 3, 5 }, lenient.Samples.Select(s => s.Line));
        Assert.Equal(4, Assert.Single(lenient.Report.Issues).Line);
    }

    [Fact]
    public void InvalidUtf8InTheSsgVqaHeaderFailsTheFileInBothModes()
    {
        byte[] bytes = [.. "Video: VID05 Frame: "u8, 0xFF, .. "\nquestion|answer|template|type|relation\nWhat is it?|liver|t.json|query_component|none\n"u8];
        string path = _dir.File("000011.txt", bytes);
        var strict = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        var lenient = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false }));
        Assert.Equal(strict.Message, lenient.Message);
        Assert.Equal(1, strict.Issue.Line);
        Assert.Contains("invalid UTF-8 (0xFF)", strict.Message, StringComparison.Ordinal);
        Assert.Contains("part of the header", strict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKeyNamesRecordAndField()
    {
        string text = new JsonArray(Record(), Record(), Record("C", "Gut")).ToJsonString(Indented);
        int second = text.IndexOf("\"solution\"", text.IndexOf("\"solution\"", StringComparison.Ordinal) + 1, StringComparison.Ordinal);
        string path = _dir.File("data.json", text.Insert(second, "\"solution\": \"C\",\n    "));

        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        AssertNames(ex, "solution");
        Assert.Contains("the key appears more than once in one object", ex.Message, StringComparison.Ordinal);

        var lenient = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(new[] { 0, 2 }, lenient.Samples.Select(s => s.RecordIndex));
        var issue = Assert.Single(lenient.Report.Issues);
        Assert.Equal((1, "solution"), (issue.RecordIndex, issue.Field));
    }

    [Fact]
    public void DuplicateKeyInANestedObjectIsNamedByItsPath()
    {
        // Keys the reader ignores are checked as well: a duplicate anywhere in the record makes it ambiguous.
        string text = new JsonArray(Record(), Record(), Record("C", "Gut")).ToJsonString(Indented);
        int second = text.IndexOf("\"images\"", text.IndexOf("\"images\"", StringComparison.Ordinal) + 1, StringComparison.Ordinal);
        string path = _dir.File("data.json", text.Insert(second, "\"meta\": {\"frames\": [{\"x\": 1, \"x\": 2}]},\n    "));
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        AssertNames(ex, "meta.frames[0].x");
    }

    [Fact]
    public void DuplicateOmniMedVqaQuestionIdsAreAnErrorOrTheLaterRecordIsSkipped()
    {
        string json = """
            [
              {"question_id": "q1", "question": "Q1?", "gt_answer": "CT", "image_path": "Images/a.png", "option_A": "MRI", "option_B": "CT"},
              {"question_id": "q2", "question": "Q2?", "gt_answer": "CT", "image_path": "Images/b.png", "option_A": "MRI", "option_B": "CT"},
              {"question_id": "q1", "question": "Q3?", "gt_answer": "CT", "image_path": "Images/c.png", "option_A": "MRI", "option_B": "CT"},
              {"question_id": 7, "question": "Q4?", "gt_answer": "CT", "image_path": "Images/d.png", "option_A": "MRI", "option_B": "CT"},
              {"question_id": "7", "question": "Q5?", "gt_answer": "CT", "image_path": "Images/e.png", "option_A": "MRI", "option_B": "CT"}
            ]
            """;
        string path = _dir.File("omni.json", json);

        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal("omni.json: record 2 (line 4), field 'question_id': duplicate id 'q1': record 0 (line 2) has the same id", ex.Message);

        var lenient = VqaDataLoader.Load(path, new VqaLoaderOptions { Strict = false });
        Assert.Equal(new[] { "q1", "q2", "7" }, lenient.Samples.Select(s => s.SampleId));
        Assert.Equal(new[] { "Q1?", "Q2?", "Q4?" }, lenient.Samples.Select(s => s.Question));
        Assert.Equal(new int?[] { 2, 4 }, lenient.Report.Issues.Select(i => i.RecordIndex));
        Assert.All(lenient.Report.Issues, i => Assert.Equal("question_id", i.Field));
        Assert.Equal((5, 3, 2), (lenient.Report.InputCount, lenient.Report.LoadedCount, lenient.Report.SkippedCount));
    }

    [Fact]
    public void UnreadableFileIsAClearError()
    {
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Path.Combine(_dir.Path, "missing.json")));
        Assert.Contains("cannot be read", ex.Message, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void CorruptedCopyOfTheRealFileNamesRecordAndField()
    {
        var array = JsonNode.Parse(File.ReadAllText(TestData.GrpoJson))!.AsArray();
        array[417]!["solution"] = "F";
        string path = _dir.File("GRPO-corrupt.json", array.ToJsonString());
        var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(path));
        Assert.Equal(417, ex.Issue.RecordIndex);
        Assert.Equal("solution", ex.Issue.Field);
        Assert.StartsWith("GRPO-corrupt.json: record 417", ex.Message, StringComparison.Ordinal);
    }
}
