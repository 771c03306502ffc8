using System.Globalization;
using System.Text;

namespace AnatomyR1.Data;

/// <summary>
/// Reads SSG-VQA <c>qa_txt</c> files (<c>qa_txt/VIDxx/&lt;frame&gt;.txt</c>): blank lines are ignored, the first two
/// non-blank lines are a header, and every further line is <c>question|answer|&lt;template&gt;.json|&lt;type&gt;|&lt;relation&gt;</c>.
/// Answers are open (one of 51 classes); the samples have no options.
/// </summary>
public static class SsgVqaTextReader
{
    /// <summary>Validation videos of the official split.</summary>
    public static IReadOnlyList<string> ValidationVideos { get; } = new[] { "VID18", "VID48", "VID01", "VID35", "VID31" };

    /// <summary>Test videos of the official split.</summary>
    public static IReadOnlyList<string> TestVideos { get; } = new[] { "VID22", "VID74", "VID60", "VID02", "VID43" };

    internal static (List<VqaSample> Samples, List<VqaLoadIssue> Issues, int Input) ReadFile(
        string file, byte[] bytes, ImagePathResolver images, VqaLoaderOptions options)
    {
        var samples = new List<VqaSample>();
        var issues = new List<VqaLoadIssue>();
        var text = Utf8Text.Decode(bytes);
        var content = text.Bytes.Span;
        string video = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))) ?? string.Empty;
        string frame = Path.GetFileNameWithoutExtension(file);
        int nonBlank = 0;
        int record = 0;
        int fault = 0;
        int start = 0;
        for (int lineNumber = 1; start <= content.Length; lineNumber++)
        {
            int length = content[start..].IndexOf((byte)'\n');
            int end = length < 0 ? content.Length : start + length;
            int firstFault = fault;
            while (fault < text.Faults.Count && text.Faults[fault].Offset < end)
            {
                fault++;
            }

            var lineBytes = content[start..end];
            start = end + 1;
            bool invalid = fault > firstFault;
            string line = invalid ? string.Empty : Encoding.UTF8.GetString(lineBytes).TrimEnd('\r');
            if (!invalid && line.Trim().Length == 0)
            {
                continue;
            }

            nonBlank++;
            if (nonBlank <= 2)
            {
                if (invalid)
                {
                    // The header is not a record that could be skipped: a damaged header fails the file in both modes.
                    throw new VqaDataException(new VqaLoadIssue(file, null, lineNumber, null,
                        Utf8Text.Describe(text.Faults[firstFault], fault - firstFault - 1) + "; the line is part of the header, so the file cannot be loaded in either mode"));
                }

                continue;
            }

            try
            {
                if (invalid)
                {
                    throw new RecordError(null, Utf8Text.Describe(text.Faults[firstFault], fault - firstFault - 1));
                }

                samples.Add(ReadLine(line, file, video, frame, record, lineNumber, images, options));
            }
            catch (RecordError error)
            {
                var issue = new VqaLoadIssue(file, record, lineNumber, error.Field, error.Message);
                if (options.Strict)
                {
                    throw new VqaDataException(issue);
                }

                issues.Add(issue);
            }

            record++;
        }

        return (samples, issues, record);
    }

    private static VqaSample ReadLine(string line, string file, string video, string frame, int record, int lineNumber,
        ImagePathResolver images, VqaLoaderOptions options)
    {
        string[] fields = line.Split('|');
        if (fields.Length < 2)
        {
            throw new RecordError("answer", "expected 'question|answer|template.json|type|relation', found no '|' separator");
        }

        string question = fields[0].Trim();
        string answer = fields[1].Trim();
        if (question.Length == 0)
        {
            throw new RecordError("question", "the question is empty");
        }

        if (answer.Length == 0)
        {
            throw new RecordError("answer", "the answer is empty");
        }

        string relative = options.SsgImagePattern.Replace("{video}", video, StringComparison.Ordinal).Replace("{frame}", frame, StringComparison.Ordinal);
        string imagePath = ImageCheck.Resolve(relative, "image", images, options);
        return new VqaSample
        {
            SampleId = video + "/" + frame + "#" + record.ToString(CultureInfo.InvariantCulture),
            ImagePath = imagePath,
            Question = question,
            Options = Array.Empty<string>(),
            CorrectIndex = -1,
            CorrectLetter = string.Empty,
            Answer = answer,
            AnswerClass = OptionChecks.DisplayClass(answer),
            QuestionFamily = QuestionFamilyClassifier.Classify(question).ToString(),
            Modality = "Endoscopy",
            QuestionType = fields.Length > 3 ? fields[3].Trim() : string.Empty,
            Dataset = "SSG-VQA",
            SourceFile = file,
            RecordIndex = record,
            Line = lineNumber,
        };
    }
}
