using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Data;

/// <summary>A column computed from a row object: its name, its type and how its value is taken from the row.</summary>
/// <typeparam name="TRow">The computed row.</typeparam>
/// <param name="Name">Column name.</param>
/// <param name="Type">Single, Int32, text, or a vector of text or Int32.</param>
/// <param name="Value">The value: float, int, string, string[] or int[] to match <paramref name="Type"/>.</param>
internal sealed record ComputedColumn<TRow>(string Name, DataViewType Type, Func<TRow, object> Value);

/// <summary>
/// The source rows plus columns computed lazily from each row: when a cursor reads an added column, the row object is
/// built once per row (<c>bind</c> gives a function reading the current row) and every added column is taken from it.
/// Added columns replace source columns of the same name.
/// </summary>
/// <typeparam name="TRow">The computed row.</typeparam>
internal sealed class ComputedColumnsDataView<TRow> : IDataView
    where TRow : class
{
    private readonly IDataView _source;
    private readonly IReadOnlyList<ComputedColumn<TRow>> _columns;
    private readonly IReadOnlyList<DataViewSchema.Column> _inputs;
    private readonly Func<DataViewRow, Func<TRow>> _bind;

    public ComputedColumnsDataView(IDataView source, IReadOnlyList<ComputedColumn<TRow>> columns, IEnumerable<DataViewSchema.Column> inputs, Func<DataViewRow, Func<TRow>> bind)
    {
        _source = source;
        _columns = columns;
        _inputs = inputs.ToList();
        _bind = bind;
        Schema = BuildSchema(source.Schema, columns.Select(c => (c.Name, c.Type)));
    }

    public bool CanShuffle => _source.CanShuffle;

    public DataViewSchema Schema { get; }

    /// <summary>The source schema without hidden columns and those the added columns replace, then the added columns.</summary>
    public static DataViewSchema BuildSchema(DataViewSchema source, IEnumerable<(string Name, DataViewType Type)> added)
    {
        var list = added.ToList();
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(source.Where(c => !c.IsHidden && list.All(a => a.Name != c.Name)));
        foreach (var (name, type) in list)
        {
            builder.AddColumn(name, type);
        }

        return builder.ToSchema();
    }

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        int first = Schema.Count - _columns.Count;
        bool computing = needed.Any(c => c.Index >= first);
        var sourceNeeded = needed.Where(c => c.Index < first).Select(c => _source.Schema[c.Name]).ToList();
        if (computing)
        {
            sourceNeeded.AddRange(_inputs.Where(c => sourceNeeded.All(s => s.Index != c.Index)));
        }

        return new Cursor(this, _source.GetRowCursor(sourceNeeded, rand), needed, computing);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ComputedColumnsDataView<TRow> _parent;
        private readonly DataViewRowCursor _inner;
        private readonly HashSet<int> _active;
        private readonly Func<TRow>? _compute;
        private long _computedPosition = -1;
        private TRow? _row;

        public Cursor(ComputedColumnsDataView<TRow> parent, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> active, bool computing)
        {
            _parent = parent;
            _inner = inner;
            _active = active.Select(c => c.Index).ToHashSet();
            _compute = computing ? parent._bind(inner) : null;
        }

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override DataViewSchema Schema => _parent.Schema;

        public override bool MoveNext() => _inner.MoveNext();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int added = column.Index - (_parent.Schema.Count - _parent._columns.Count);
            if (added < 0)
            {
                return _inner.GetGetter<TValue>(_inner.Schema[column.Name]);
            }

            if (_compute is null)
            {
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made.");
            }

            var spec = _parent._columns[added];
            Delegate getter = spec.Type switch
            {
                NumberDataViewType n when n.RawType == typeof(float) => Typed<float>(spec, (ref float v) => v = (float)spec.Value(Current())),
                NumberDataViewType n when n.RawType == typeof(int) => Typed<int>(spec, (ref int v) => v = (int)spec.Value(Current())),
                TextDataViewType => Typed<ReadOnlyMemory<char>>(spec, (ref ReadOnlyMemory<char> v) => v = ((string)spec.Value(Current())).AsMemory()),
                VectorDataViewType { ItemType: TextDataViewType } => Typed<VBuffer<ReadOnlyMemory<char>>>(spec, (ref VBuffer<ReadOnlyMemory<char>> v) =>
                    v = new VBuffer<ReadOnlyMemory<char>>(((string[])spec.Value(Current())).Length, ((string[])spec.Value(Current())).Select(t => t.AsMemory()).ToArray())),
                VectorDataViewType { ItemType: NumberDataViewType } => Typed<VBuffer<int>>(spec, (ref VBuffer<int> v) =>
                    v = new VBuffer<int>(((int[])spec.Value(Current())).Length, ((int[])spec.Value(Current())).ToArray())),
                _ => throw new InvalidOperationException($"Column '{spec.Name}' has unsupported type {spec.Type}."),
            };
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is {spec.Type}; asked for {typeof(TValue).Name}.");
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

        private static ValueGetter<T> Typed<T>(ComputedColumn<TRow> spec, ValueGetter<T> getter) => getter;

        private TRow Current()
        {
            if (_computedPosition != _inner.Position || _row is null)
            {
                _row = _compute!();
                _computedPosition = _inner.Position;
            }

            return _row;
        }
    }
}
