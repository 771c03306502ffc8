using System.Globalization;
using System.Text.Json;
using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Evaluation;

/// <summary>Reads predictions JSONL files and joins them to loaded samples for <see cref="VqaEvaluator"/>.</summary>
public static class PredictionFile
{
    /// <summary>Reads a predictions JSONL file. Blank lines are ignored.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The predictions, in file order.</returns>
    /// <exception cref="VqaDataException">The file is not valid UTF-8 (the message names the line and byte offset), or
    /// a line is not a JSON object with an id or index and exactly one of <c>completion</c>, <c>letter</c>,
    /// <c>answer</c>, or has a key twice; the message names the line and field.</exception>
    public static IReadOnlyList<PredictionRecord> Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new VqaDataException(new VqaLoadIssue(path, null, null, null, "cannot be read: " + ex.Message), ex);
        }

        string text = Utf8Text.Decode(bytes).ToStringOrThrow(path);
        var result = new List<PredictionRecord>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                result.Add(ParseLine(line, i + 1));
            }
            catch (RecordError error)
            {
                throw new VqaDataException(new VqaLoadIssue(path, null, i + 1, error.Field, error.Message));
            }
            catch (JsonException ex)
            {
                throw new VqaDataException(new VqaLoadIssue(path, null, i + 1, null, "malformed JSON: " + ex.Message.Split(" LineNumber:")[0]), ex);
            }
        }

        return result;
    }

    private static PredictionRecord ParseLine(string line, int lineNumber)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RecordError(null, $"expected a JSON object, found {JsonRecords.KindName(root.ValueKind)}");
        }

        JsonRecords.CheckDuplicateKeys(root);

        string? id = JsonRecords.OptionalScalar(root, "id");
        int? index = null;
        if (root.TryGetProperty("index", out var indexValue) && indexValue.ValueKind != JsonValueKind.Null)
        {
            if (indexValue.ValueKind != JsonValueKind.Number || !indexValue.TryGetInt32(out int parsed) || parsed < 0)
            {
                throw new RecordError("index", "expected a non-negative integer");
            }

            index = parsed;
        }

        if (id is null && index is null)
        {
            throw new RecordError("id", "the line has neither 'id' nor 'index'");
        }

        var present = new List<(PredictionKind Kind, string Value)>();
        foreach (var (field, kind) in new[] { ("completion", PredictionKind.Completion), ("letter", PredictionKind.Letter), ("answer", PredictionKind.Answer) })
        {
            if (JsonRecords.OptionalString(root, field) is string value)
            {
                present.Add((kind, value));
            }
        }

        if (present.Count != 1)
        {
            throw new RecordError("completion", present.Count == 0
                ? "the line has none of 'completion', 'letter', 'answer'"
                : "the line has more than one of 'completion', 'letter', 'answer'");
        }

        return new PredictionRecord(lineNumber, id, index, present[0].Kind, present[0].Value);
    }

    /// <summary>
    /// Joins predictions to samples (by id, else by record index) into an <see cref="IDataView"/> with the sample
    /// columns and one prediction column (<c>Completion</c>, <c>PredictedLetter</c> or <c>PredictedAnswer</c>).
    /// Samples without a prediction get an empty one and count as unanswered.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="samples">The loaded samples.</param>
    /// <param name="predictions">The predictions.</param>
    /// <param name="source">The predictions file name, for errors.</param>
    /// <param name="missing">How many samples had no prediction.</param>
    /// <returns>The joined data view.</returns>
    /// <exception cref="VqaDataException">Mixed prediction kinds, a prediction matching no sample, two predictions for
    /// one sample, or predictions matched by id (or by index) while two samples share an id (or an index, as
    /// records of different files do); the message names the shared id or index.</exception>
    public static IDataView Join(MLContext mlContext, IReadOnlyList<VqaSample> samples, IReadOnlyList<PredictionRecord> predictions, string source, out int missing)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(predictions);
        PredictionKind kind = predictions.Count > 0 ? predictions[0].Kind : PredictionKind.Letter;
        var byId = Index(samples, s => s.SampleId, StringComparer.Ordinal);
        var byIndex = Index(samples, s => s.RecordIndex, EqualityComparer<int>.Default);
        if (predictions.Any(p => p.Id is not null))
        {
            RefuseAmbiguous(byId, samples, source, "id", id => $"id '{id}'");
        }

        if (predictions.Any(p => p.Id is null))
        {
            RefuseAmbiguous(byIndex, samples, source, "index", index => $"record index {index}");
        }

        var values = new string?[samples.Count];
        foreach (var p in predictions)
        {
            if (p.Kind != kind)
            {
                throw new VqaDataException(new VqaLoadIssue(source, null, p.Line, p.Kind.ToString().ToLowerInvariant(),
                    $"the file mixes prediction kinds: line {predictions[0].Line} has '{kind.ToString().ToLowerInvariant()}'"));
            }

            int target;
            if (p.Id is not null)
            {
                if (!byId.TryGetValue(p.Id, out var withId))
                {
                    throw new VqaDataException(new VqaLoadIssue(source, null, p.Line, "id", $"no record has id '{p.Id}'"));
                }

                target = withId[0];
            }
            else if (byIndex.TryGetValue(p.Index!.Value, out var withIndex))
            {
                target = withIndex[0];
            }
            else
            {
                throw new VqaDataException(new VqaLoadIssue(source, null, p.Line, "index", $"no record has index {p.Index}"));
            }

            if (values[target] is not null)
            {
                throw new VqaDataException(new VqaLoadIssue(source, null, p.Line, p.Id is not null ? "id" : "index",
                    $"a second prediction for record {samples[target].SampleId}"));
            }

            values[target] = p.Value;
        }

        missing = values.Count(v => v is null);
        var rows = samples.Select((s, i) => new PredictionRow(s, values[i] ?? string.Empty)).ToList();
        string column = kind switch
        {
            PredictionKind.Completion => VqaColumns.Completion,
            PredictionKind.Letter => VqaColumns.PredictedLetter,
            _ => VqaColumns.PredictedAnswer,
        };
        var definition = SchemaDefinition.Create(typeof(PredictionRow));
        definition[nameof(PredictionRow.Prediction)].ColumnName = column;
        return mlContext.Data.LoadFromEnumerable(rows, definition);
    }

    /// <summary>The positions of the samples under each key, in sample order.</summary>
    private static Dictionary<TKey, List<int>> Index<TKey>(IReadOnlyList<VqaSample> samples, Func<VqaSample, TKey> key, IEqualityComparer<TKey> comparer)
        where TKey : notnull
    {
        var index = new Dictionary<TKey, List<int>>(comparer);
        for (int i = 0; i < samples.Count; i++)
        {
            if (!index.TryGetValue(key(samples[i]), out var positions))
            {
                index[key(samples[i])] = positions = new List<int>(1);
            }

            positions.Add(i);
        }

        return index;
    }

    /// <summary>
    /// Refuses to match predictions by a key that two samples share: the prediction would score one of them and leave
    /// the other unanswered. Names the first shared key (in sample order) and where each of its samples comes from.
    /// </summary>
    private static void RefuseAmbiguous<TKey>(Dictionary<TKey, List<int>> index, IReadOnlyList<VqaSample> samples, string source, string field, Func<TKey, string> name)
        where TKey : notnull
    {
        List<int>? shared = null;
        TKey? sharedKey = default;
        foreach (var (key, positions) in index)
        {
            if (positions.Count > 1 && (shared is null || positions[0] < shared[0]))
            {
                shared = positions;
                sharedKey = key;
            }
        }

        if (shared is null)
        {
            return;
        }

        string where = string.Join("; ", shared.Select(i => samples[i]).Select(s =>
            $"{s.SourceFile} record {s.RecordIndex.ToString(CultureInfo.InvariantCulture)} (line {s.Line.ToString(CultureInfo.InvariantCulture)})"));
        throw new VqaDataException(new VqaLoadIssue(source, null, null, field,
            $"{name(sharedKey!)} is ambiguous: {shared.Count.ToString(CultureInfo.InvariantCulture)} records of the data have it ({where}); predictions cannot be matched by {field} unless it is unique"));
    }

    private sealed class PredictionRow
    {
        public PredictionRow(VqaSample sample, string prediction)
        {
            Options = sample.Options;
            CorrectIndex = sample.CorrectIndex;
            Answer = sample.Answer;
            AnswerClass = sample.AnswerClass;
            QuestionFamily = sample.QuestionFamily;
            Modality = sample.Modality;
            QuestionType = sample.QuestionType;
            Prediction = prediction;
        }

        public string[] Options { get; set; }

        public int CorrectIndex { get; set; }

        public string Answer { get; set; }

        public string AnswerClass { get; set; }

        public string QuestionFamily { get; set; }

        public string Modality { get; set; }

        public string QuestionType { get; set; }

        public string Prediction { get; set; }
    }
}
