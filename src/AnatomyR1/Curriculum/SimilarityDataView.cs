using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>The source rows plus S(q) and the stage, computed when a cursor reads them.</summary>
internal sealed class SimilarityDataView : IDataView
{
    private readonly IDataView _source;
    private readonly AnatomicalSimilarityTransformer _transformer;
    private readonly SimilarityRowReader _reader;

    public SimilarityDataView(IDataView source, AnatomicalSimilarityTransformer transformer)
    {
        _source = source;
        _transformer = transformer;
        _reader = new SimilarityRowReader(source.Schema, transformer.Options.OptionsColumn, transformer.Options.CorrectIndexColumn);
        Schema = SimilarityColumns.AppendTo(source.Schema, transformer.Options.OutputColumn, transformer.Options.StageColumn);
    }

    public bool CanShuffle => _source.CanShuffle;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        int added = Schema.Count - 2;
        bool scoring = needed.Any(c => c.Index >= added);
        var sourceNeeded = needed.Where(c => c.Index < added).Select(c => _source.Schema[c.Name]).ToList();
        if (scoring)
        {
            sourceNeeded.AddRange(_reader.ActiveColumns.Where(c => sourceNeeded.All(s => s.Index != c.Index)));
        }

        return new Cursor(this, _source.GetRowCursor(sourceNeeded, rand), needed, scoring);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SimilarityDataView _parent;
        private readonly DataViewRowCursor _inner;
        private readonly HashSet<int> _active;
        private readonly SimilarityRowReader.Bound? _row;
        private long _scoredPosition = -1;
        private float _score;

        public Cursor(SimilarityDataView parent, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> active, bool scoring)
        {
            _parent = parent;
            _inner = inner;
            _active = active.Select(c => c.Index).ToHashSet();
            _row = scoring ? parent._reader.Bind(inner) : null;
        }

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override DataViewSchema Schema => _parent.Schema;

        public override bool MoveNext() => _inner.MoveNext();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int added = column.Index - (_parent.Schema.Count - 2);
            if (added < 0)
            {
                return _inner.GetGetter<TValue>(_inner.Schema[column.Name]);
            }

            if (_row is null)
            {
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made.");
            }

            if (added == 0)
            {
                if (typeof(TValue) != typeof(float))
                {
                    throw new InvalidOperationException($"Column '{column.Name}' is Single; asked for {typeof(TValue).Name}.");
                }

                ValueGetter<float> score = (ref float value) => value = Current();
                return (ValueGetter<TValue>)(Delegate)score;
            }

            if (typeof(TValue) != typeof(int))
            {
                throw new InvalidOperationException($"Column '{column.Name}' is Int32; asked for {typeof(TValue).Name}.");
            }

            ValueGetter<int> stage = (ref int value) => value = _parent._transformer.StageOf(Current());
            return (ValueGetter<TValue>)(Delegate)stage;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private float Current()
        {
            if (_scoredPosition != _inner.Position)
            {
                _score = _row!.Score(_parent._transformer.Similarity, _parent._transformer.Aggregation);
                _scoredPosition = _inner.Position;
            }

            return _score;
        }
    }
}
