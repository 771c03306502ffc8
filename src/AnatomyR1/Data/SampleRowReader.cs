using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Data;

/// <summary>
/// Reads <see cref="VqaSample"/>s from the rows of a view: the <see cref="VqaColumns"/> text columns that are
/// present, <c>Options</c> (required), <c>CorrectIndex</c> and <c>RecordIndex</c> (any number type), and optionally a
/// Single column such as <c>OptionSimilarity</c>. Missing optional columns leave the sample's defaults.
/// </summary>
public sealed class SampleRowReader
{
    private static readonly string[] TextColumns =
    {
        VqaColumns.SampleId, VqaColumns.Question, VqaColumns.CorrectLetter, VqaColumns.Answer, VqaColumns.AnswerClass,
        VqaColumns.QuestionFamily, VqaColumns.Modality, VqaColumns.QuestionType, nameof(VqaSample.Dataset), nameof(VqaSample.SourceFile),
    };

    private readonly List<DataViewSchema.Column> _texts;
    private readonly DataViewSchema.Column _options;
    private readonly DataViewSchema.Column? _correct;
    private readonly DataViewSchema.Column? _record;
    private readonly DataViewSchema.Column? _score;
    private readonly DataViewSchema.Column? _imagePath;

    /// <summary>Checks the schema.</summary>
    /// <param name="schema">The view's schema.</param>
    /// <param name="scoreColumn">A Single column to read beside the sample, or null.</param>
    /// <param name="requireScore">Whether <paramref name="scoreColumn"/> must exist.</param>
    /// <param name="imagePathColumn">The text column read into <see cref="VqaSample.ImagePath"/>; null leaves it empty.</param>
    /// <exception cref="ArgumentException">Options is missing, or a column has the wrong type; the message names it.</exception>
    public SampleRowReader(DataViewSchema schema, string? scoreColumn = null, bool requireScore = false, string? imagePathColumn = VqaColumns.ImagePath)
    {
        _imagePath = imagePathColumn is not null && schema.GetColumnOrNull(imagePathColumn) is { Type: TextDataViewType } image ? image : null;
        _options = schema.GetColumnOrNull(VqaColumns.Options) is { Type: VectorDataViewType { ItemType: TextDataViewType } } o ? o
            : throw new ArgumentException($"The input needs a '{VqaColumns.Options}' column of type vector of text.");
        _texts = TextColumns.Where(n => schema.GetColumnOrNull(n) is { Type: TextDataViewType }).Select(n => schema[n]).ToList();
        _correct = ColumnGetters.IsNumber(schema.GetColumnOrNull(VqaColumns.CorrectIndex)) ? schema[VqaColumns.CorrectIndex] : null;
        _record = ColumnGetters.IsNumber(schema.GetColumnOrNull(nameof(VqaSample.RecordIndex))) ? schema[nameof(VqaSample.RecordIndex)] : null;
        if (scoreColumn is not null)
        {
            _score = schema.GetColumnOrNull(scoreColumn) is { } s && s.Type.RawType == typeof(float) ? s : null;
            if (requireScore && _score is null)
            {
                throw new ArgumentException($"The input needs a Single '{scoreColumn}' column (S(q) from AnatomicalSimilarity).");
            }
        }
    }

    /// <summary>Whether the score column is present.</summary>
    public bool HasScore => _score is not null;

    /// <summary>The columns a cursor must activate.</summary>
    public IEnumerable<DataViewSchema.Column> ActiveColumns =>
        _texts.Append(_options).Concat(new[] { _correct, _record, _score, _imagePath }.Where(c => c.HasValue).Select(c => c!.Value));

    /// <summary>A reader of the current row of <paramref name="row"/>.</summary>
    /// <param name="row">The row (a cursor).</param>
    /// <returns>A function returning the current sample and score (NaN without a score column).</returns>
    public Func<(VqaSample Sample, float Score)> Bind(DataViewRow row)
    {
        var texts = _texts.ToDictionary(t => t.Name, t => row.GetGetter<ReadOnlyMemory<char>>(t));
        var options = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(_options);
        var correct = _correct is { } c ? ColumnGetters.Integer(row, c) : null;
        var record = _record is { } r ? ColumnGetters.Integer(row, r) : null;
        var score = _score is { } s ? row.GetGetter<float>(s) : null;
        var imagePath = _imagePath is { } ip ? row.GetGetter<ReadOnlyMemory<char>>(ip) : null;
        ReadOnlyMemory<char> imageValue = default;
        ReadOnlyMemory<char> text = default;
        VBuffer<ReadOnlyMemory<char>> values = default;
        float scoreValue = float.NaN;
        return () =>
        {
            string Text(string name)
            {
                if (!texts.TryGetValue(name, out var getter))
                {
                    return string.Empty;
                }

                getter(ref text);
                return text.ToString();
            }

            options(ref values);
            var sample = new VqaSample
            {
                SampleId = Text(VqaColumns.SampleId), Question = Text(VqaColumns.Question),
                Options = values.DenseValues().Select(v => v.ToString()).ToArray(), CorrectIndex = correct?.Invoke() ?? -1,
                CorrectLetter = Text(VqaColumns.CorrectLetter), Answer = Text(VqaColumns.Answer), AnswerClass = Text(VqaColumns.AnswerClass),
                QuestionFamily = Text(VqaColumns.QuestionFamily) is { Length: > 0 } family ? family : nameof(QuestionFamily.Other),
                Modality = Text(VqaColumns.Modality), QuestionType = Text(VqaColumns.QuestionType), Dataset = Text(nameof(VqaSample.Dataset)),
                SourceFile = Text(nameof(VqaSample.SourceFile)), RecordIndex = record?.Invoke() ?? (int)row.Position,
            };
            if (score is not null)
            {
                score(ref scoreValue);
            }

            if (imagePath is not null)
            {
                imagePath(ref imageValue);
                sample.ImagePath = imageValue.ToString();
            }

            return (sample, score is null ? float.NaN : scoreValue);
        };
    }
}
