using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>
/// An <see cref="IDataView"/> that passes every column of its source through and appends text columns whose values
/// were computed beforehand, one per source row (in cursor order).
/// </summary>
internal sealed class AppendedTextColumnsDataView : IDataView
{
    private readonly IDataView _source;
    private readonly string[] _names;
    private readonly IReadOnlyList<string>[] _values;

    public AppendedTextColumnsDataView(IDataView source, IReadOnlyList<(string Name, IReadOnlyList<string> Values)> columns)
    {
        _source = source;
        _names = columns.Select(c => c.Name).ToArray();
        _values = columns.Select(c => c.Values).ToArray();
        Schema = BuildSchema(source.Schema, _names);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public static DataViewSchema BuildSchema(DataViewSchema source, IEnumerable<string> names)
    {
        var builder = new DataViewSchema.Builder();
        var replaced = new HashSet<string>(names, StringComparer.Ordinal);
        builder.AddColumns(source.Where(c => !replaced.Contains(c.Name)));
        foreach (string name in names)
        {
            builder.AddColumn(name, TextDataViewType.Instance);
        }

        return builder.ToSchema();
    }

    public long? GetRowCount() => _values.Length > 0 ? _values[0].Count : _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        var sourceNeeded = needed.Where(c => c.Index < Schema.Count - _names.Length)
            .Select(c => _source.Schema[c.Name]).ToList();
        return new Cursor(this, _source.GetRowCursor(sourceNeeded), needed);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly AppendedTextColumnsDataView _parent;
        private readonly DataViewRowCursor _inner;
        private readonly HashSet<int> _active;
        private long _position = -1;

        public Cursor(AppendedTextColumnsDataView parent, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> active)
        {
            _parent = parent;
            _inner = inner;
            _active = active.Select(c => c.Index).ToHashSet();
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _parent.Schema;

        public override bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                return false;
            }

            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int appended = column.Index - (_parent.Schema.Count - _parent._names.Length);
            if (appended < 0)
            {
                return _inner.GetGetter<TValue>(_inner.Schema[column.Name]);
            }

            if (typeof(TValue) != typeof(ReadOnlyMemory<char>))
            {
                throw new InvalidOperationException($"Column '{column.Name}' is text; asked for {typeof(TValue).Name}.");
            }

            var values = _parent._values[appended];
            ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> value) =>
            {
                if (_position < 0 || _position >= values.Count)
                {
                    throw new InvalidOperationException($"Row {_position} has no precomputed '{column.Name}' value.");
                }

                value = values[(int)_position].AsMemory();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
