using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Data;

/// <summary>Typed getters for the columns AnatomyR1 reads, accepting the numeric types ML.NET pipelines produce.</summary>
internal static class ColumnGetters
{
    /// <summary>A getter that reads an integer from an Int32, Int64, Single or Double column.</summary>
    /// <param name="row">The cursor.</param>
    /// <param name="column">The column.</param>
    /// <returns>The getter.</returns>
    /// <exception cref="ArgumentException">The column is not one of those types; the message names it.</exception>
    public static Func<int> Integer(DataViewRow row, DataViewSchema.Column column)
    {
        var type = column.Type.RawType;
        if (type == typeof(int))
        {
            var g = row.GetGetter<int>(column);
            return () => { int v = 0; g(ref v); return v; };
        }

        if (type == typeof(long))
        {
            var g = row.GetGetter<long>(column);
            return () => { long v = 0; g(ref v); return (int)v; };
        }

        if (type == typeof(float))
        {
            var g = row.GetGetter<float>(column);
            return () => { float v = 0; g(ref v); return (int)v; };
        }

        if (type == typeof(double))
        {
            var g = row.GetGetter<double>(column);
            return () => { double v = 0; g(ref v); return (int)v; };
        }

        throw new ArgumentException($"Column '{column.Name}' has type {column.Type}; expected an integer or float number.");
    }

    /// <summary>Whether a column can be read by <see cref="Integer"/>.</summary>
    /// <param name="column">The column, or null.</param>
    /// <returns>True for Int32, Int64, Single and Double.</returns>
    public static bool IsNumber(DataViewSchema.Column? column) =>
        column is { } c && (c.Type.RawType == typeof(int) || c.Type.RawType == typeof(long) || c.Type.RawType == typeof(float) || c.Type.RawType == typeof(double));
}
