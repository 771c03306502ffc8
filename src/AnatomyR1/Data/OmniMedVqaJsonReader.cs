using System.Globalization;
using System.Text.Json;

namespace AnatomyR1.Data;

/// <summary>
/// Reads OmniMedVQA <c>QA_information</c> JSON: records with <c>question</c>, <c>gt_answer</c> (the correct option's
/// TEXT), <c>option_A</c>, <c>option_B</c>, optional <c>option_C</c>/<c>option_D</c> (and further letters),
/// <c>image_path</c> (relative, <c>Images/&lt;dataset&gt;/…</c>), <c>question_type</c>, <c>dataset</c>,
/// <c>question_id</c>, and <c>modality_type</c> (or <c>modality</c> in some files).
/// </summary>
internal static class OmniMedVqaJsonReader
{
    public static VqaSample ReadRecord(JsonElement record, int index, int line, string file, ImagePathResolver images, VqaLoaderOptions options)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            throw new RecordError(null, $"expected a JSON object, found {JsonRecords.KindName(record.ValueKind)}");
        }

        string question = JsonRecords.RequiredString(record, "question").Trim();
        if (question.Length == 0)
        {
            throw new RecordError("question", "the question is empty");
        }

        var optionList = new List<string>();
        bool gap = false;
        for (int i = 0; i < 26; i++)
        {
            string field = "option_" + OptionChecks.Letter(i);
            string? value = JsonRecords.OptionalScalar(record, field);
            if (value is null)
            {
                gap = true;
                continue;
            }

            if (gap)
            {
                throw new RecordError(field, $"present although option_{OptionChecks.Letter(optionList.Count)} is missing");
            }

            optionList.Add(value.Trim());
        }

        if (optionList.Count == 0)
        {
            throw new RecordError("option_A", "the field is missing");
        }

        OptionChecks.Validate(optionList, "option_" + OptionChecks.Letter(Math.Max(0, optionList.Count - 1)));

        string gt = JsonRecords.OptionalScalar(record, "gt_answer") ?? throw new RecordError("gt_answer", "the field is missing");
        int correct = OptionChecks.IndexOfAnswer(optionList, gt);
        if (correct < 0)
        {
            throw new RecordError("gt_answer", $"'{gt.Trim()}' is not among the options");
        }

        string written = JsonRecords.RequiredString(record, "image_path");
        string imagePath = ImageCheck.Resolve(written, "image_path", images, options);
        string modality = JsonRecords.OptionalString(record, "modality_type") ?? JsonRecords.OptionalString(record, "modality") ?? string.Empty;
        string? id = JsonRecords.OptionalScalar(record, "question_id");
        return new VqaSample
        {
            SampleId = id ?? Path.GetFileName(file) + "#" + index.ToString(CultureInfo.InvariantCulture),
            ImagePath = imagePath,
            Question = question,
            Options = optionList.ToArray(),
            CorrectIndex = correct,
            CorrectLetter = OptionChecks.Letter(correct),
            Answer = optionList[correct],
            AnswerClass = optionList[correct],
            QuestionFamily = QuestionFamilyClassifier.Classify(question).ToString(),
            Modality = modality.Trim(),
            QuestionType = (JsonRecords.OptionalString(record, "question_type") ?? string.Empty).Trim(),
            Dataset = (JsonRecords.OptionalString(record, "dataset") ?? string.Empty).Trim(),
            SourceFile = file,
            RecordIndex = index,
            Line = line,
        };
    }

    internal static bool LooksLikeRecord(JsonElement record) =>
        record.ValueKind == JsonValueKind.Object
        && (record.TryGetProperty("gt_answer", out _) || record.TryGetProperty("option_A", out _));
}
