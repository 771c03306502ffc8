using System.Text.Json;
using System.Text.RegularExpressions;

namespace AnatomyR1.Data;

/// <summary>
/// Reads the Anatomy-R1 JSON format: a list of records with <c>instruction</c> and/or <c>sft_prompt</c> /
/// <c>sft_instruction</c> (the prompt holding <c>Question:</c> and the lettered <c>Anatomy Options:</c> block),
/// <c>solution</c> (the correct letter), <c>answer</c> (the correct option text) and <c>images</c> (a path, or a
/// list holding one path). An optional <c>completion</c> (a reference answer such as a reasoning trace) is read into
/// <see cref="VqaSample.TargetCompletion"/>; other keys are ignored.
/// </summary>
internal static partial class AnatomyR1JsonReader
{
    private static readonly string[] PromptFields = { "instruction", "sft_prompt", "sft_instruction" };

    public static VqaSample ReadRecord(JsonElement record, int index, int line, string file, ImagePathResolver images, VqaLoaderOptions options)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            throw new RecordError(null, $"expected a JSON object, found {JsonRecords.KindName(record.ValueKind)}");
        }

        string? instruction = JsonRecords.OptionalString(record, "instruction");
        string? sftField = record.TryGetProperty("sft_prompt", out _) ? "sft_prompt"
            : record.TryGetProperty("sft_instruction", out _) ? "sft_instruction" : null;
        string? sft = sftField is null ? null : JsonRecords.OptionalString(record, sftField);
        if (instruction is null && sft is null)
        {
            throw new RecordError("instruction", "the field is missing (and so are 'sft_prompt' and 'sft_instruction')");
        }

        string promptField = instruction is not null ? "instruction" : sftField!;
        var (question, optionList) = ParsePrompt(instruction ?? sft!, promptField);
        if (instruction is not null && sft is not null)
        {
            var (_, sftOptions) = ParsePrompt(sft, sftField!);
            if (!sftOptions.SequenceEqual(optionList, StringComparer.Ordinal))
            {
                throw new RecordError(sftField, "its options differ from those in 'instruction'");
            }
        }

        string? solution = JsonRecords.OptionalString(record, "solution");
        string? answer = JsonRecords.OptionalString(record, "answer");
        int correct;
        if (solution is not null)
        {
            char letter = OptionChecks.ParseLetter(solution)
                ?? throw new RecordError("solution", $"'{solution.Trim()}' is not an option letter");
            correct = letter - 'A';
            if (correct >= optionList.Count)
            {
                throw new RecordError("solution", $"letter '{letter}' is out of range: the record has {optionList.Count} options (A–{OptionChecks.Letter(optionList.Count - 1)})");
            }

            if (answer is not null)
            {
                int byText = OptionChecks.IndexOfAnswer(optionList, answer);
                if (byText < 0)
                {
                    throw new RecordError("answer", $"'{answer.Trim()}' is not among the options");
                }

                if (byText != correct)
                {
                    throw new RecordError("answer", $"'{answer.Trim()}' is option {OptionChecks.Letter(byText)}, but 'solution' says {letter}");
                }
            }
        }
        else if (answer is not null)
        {
            correct = OptionChecks.IndexOfAnswer(optionList, answer);
            if (correct < 0)
            {
                throw new RecordError("answer", $"'{answer.Trim()}' is not among the options");
            }
        }
        else
        {
            throw new RecordError("solution", "the field is missing (and so is 'answer')");
        }

        string imagePath = ReadImage(record, images, options);
        string completion = JsonRecords.OptionalString(record, "completion") ?? string.Empty;
        string answerText = optionList[correct];
        return new VqaSample
        {
            SampleId = Path.GetFileName(file) + "#" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ImagePath = imagePath,
            Question = question,
            Options = optionList.ToArray(),
            CorrectIndex = correct,
            CorrectLetter = OptionChecks.Letter(correct),
            Answer = answerText,
            AnswerClass = answerText,
            QuestionFamily = QuestionFamilyClassifier.Classify(question).ToString(),
            Modality = "Endoscopy",
            QuestionType = "Anatomy Identification",
            Dataset = "SSG-VQA",
            Instruction = instruction ?? sft!,
            TargetCompletion = completion,
            SourceFile = file,
            RecordIndex = index,
            Line = line,
        };
    }

    internal static bool LooksLikeRecord(JsonElement record) =>
        record.ValueKind == JsonValueKind.Object
        && (PromptFields.Any(f => record.TryGetProperty(f, out _)) || record.TryGetProperty("solution", out _));

    private static string ReadImage(JsonElement record, ImagePathResolver images, VqaLoaderOptions options)
    {
        if (!record.TryGetProperty("images", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new RecordError("images", "the field is missing");
        }

        string written;
        if (value.ValueKind == JsonValueKind.String)
        {
            written = value.GetString()!;
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            if (value.GetArrayLength() != 1 || value[0].ValueKind != JsonValueKind.String)
            {
                throw new RecordError("images", $"expected one image path, found an array of {value.GetArrayLength()} element(s)");
            }

            written = value[0].GetString()!;
        }
        else
        {
            throw new RecordError("images", $"expected a string or a one-element array, found {JsonRecords.KindName(value.ValueKind)}");
        }

        return ImageCheck.Resolve(written, "images", images, options);
    }

    /// <summary>Splits a prompt into the question and the lettered options.</summary>
    internal static (string Question, List<string> Options) ParsePrompt(string prompt, string field)
    {
        string text = prompt.Contains('\r', StringComparison.Ordinal) ? prompt.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : prompt;
        var header = OptionsHeader().Match(text);
        if (!header.Success)
        {
            throw new RecordError(field, "no 'Anatomy Options:' block found");
        }

        var options = new List<string>();
        foreach (string rawLine in text[(header.Index + header.Length)..].Split('\n'))
        {
            string optionLine = rawLine.Trim();
            if (optionLine.Length == 0)
            {
                if (options.Count == 0)
                {
                    continue;
                }

                break;
            }

            var m = OptionLine().Match(optionLine);
            if (!m.Success)
            {
                if (options.Count == 0)
                {
                    throw new RecordError(field, $"the line after 'Anatomy Options:' is not a lettered option: '{optionLine}'");
                }

                break;
            }

            char letter = char.ToUpperInvariant(m.Groups[1].Value[0]);
            if (letter - 'A' != options.Count)
            {
                throw new RecordError(field, $"option letters are out of order: expected {OptionChecks.Letter(options.Count)}, found {letter}");
            }

            options.Add(m.Groups[2].Value.Trim());
        }

        OptionChecks.Validate(options, field);

        string before = text[..header.Index];
        int q = before.LastIndexOf("Question:", StringComparison.Ordinal);
        string question = q >= 0
            ? before[(q + "Question:".Length)..].Trim()
            : before.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? string.Empty;
        if (question.Length == 0)
        {
            throw new RecordError(field, "the question text is empty");
        }

        return (question, options);
    }

    [GeneratedRegex(@"(?:^|\n)[ \t]*(?:Anatomy )?Options:[ \t]*\n", RegexOptions.IgnoreCase | RegexOptions.RightToLeft)]
    private static partial Regex OptionsHeader();

    [GeneratedRegex(@"^([A-Za-z])[\.\)]\s*(.*)$")]
    private static partial Regex OptionLine();
}
