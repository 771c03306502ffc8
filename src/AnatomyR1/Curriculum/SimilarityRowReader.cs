using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>Reads the option texts and the correct index of rows and scores S(q), with errors that name the row.</summary>
internal sealed class SimilarityRowReader
{
    private readonly DataViewSchema.Column _options;
    private readonly DataViewSchema.Column _correct;
    private readonly DataViewSchema.Column? _sampleId;

    public SimilarityRowReader(DataViewSchema schema, string optionsColumn, string correctColumn)
    {
        if (schema.GetColumnOrNull(optionsColumn) is not { Type: VectorDataViewType { ItemType: TextDataViewType } } options)
        {
            throw new ArgumentException($"The input needs a '{optionsColumn}' column of type vector of text.");
        }

        var correct = schema.GetColumnOrNull(correctColumn);
        if (!ColumnGetters.IsNumber(correct))
        {
            throw new ArgumentException($"The input needs a numeric '{correctColumn}' column (the 0-based correct option).");
        }

        _options = options;
        _correct = correct!.Value;
        _sampleId = schema.GetColumnOrNull(VqaColumns.SampleId) is { Type: TextDataViewType } id ? id : null;
    }

    public IEnumerable<DataViewSchema.Column> ActiveColumns =>
        _sampleId is { } id ? new[] { _options, _correct, id } : new[] { _options, _correct };

    public Bound Bind(DataViewRow row) => new(this, row);

    internal sealed class Bound
    {
        private readonly DataViewRow _row;
        private readonly ValueGetter<VBuffer<ReadOnlyMemory<char>>> _options;
        private readonly Func<int> _correct;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _sampleId;
        private readonly string _correctName;
        private VBuffer<ReadOnlyMemory<char>> _buffer;
        private string[] _texts = Array.Empty<string>();

        public Bound(SimilarityRowReader reader, DataViewRow row)
        {
            _row = row;
            _options = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(reader._options);
            _correct = ColumnGetters.Integer(row, reader._correct);
            _sampleId = reader._sampleId is { } id ? row.GetGetter<ReadOnlyMemory<char>>(id) : null;
            _correctName = reader._correct.Name;
        }

        /// <summary>S(q) of the current row.</summary>
        public float Score(IOptionSimilarity measure, SimilarityAggregation aggregation)
        {
            _options(ref _buffer);
            int n = _buffer.Length;
            if (_texts.Length != n)
            {
                _texts = new string[n];
            }

            int i = 0;
            foreach (var text in _buffer.DenseValues())
            {
                _texts[i++] = text.ToString();
            }

            int correct = _correct();
            if (n > 0 && (correct < -1 || correct >= n))
            {
                throw new InvalidDataException($"{Describe()}: field '{_correctName}' is {correct}, outside the {n} options (0 … {n - 1}, or −1 for an open question).");
            }

            try
            {
                return OptionSimilarityScore.Compute(_texts, correct, measure, aggregation);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{Describe()}: S(q) with {measure.Name} failed: {ex.Message}", ex);
            }
        }

        private string Describe()
        {
            string where = $"row {_row.Position}";
            if (_sampleId is not null)
            {
                ReadOnlyMemory<char> id = default;
                _sampleId(ref id);
                where += $" (sample '{id}')";
            }

            return where;
        }
    }
}
