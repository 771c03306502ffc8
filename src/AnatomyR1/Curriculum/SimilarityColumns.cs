using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>The schema of the two columns the similarity scorer adds.</summary>
internal static class SimilarityColumns
{
    /// <summary>Appends a Single and an Int32 column (replacing same-named input columns).</summary>
    public static DataViewSchema AppendTo(DataViewSchema input, string scoreColumn, string stageColumn) =>
        Data.ComputedColumnsDataView<object>.BuildSchema(input, new[] { (scoreColumn, (DataViewType)NumberDataViewType.Single), (stageColumn, NumberDataViewType.Int32) });

    /// <summary>The same for a schema shape.</summary>
    public static SchemaShape AppendTo(SchemaShape input, string scoreColumn, string stageColumn) =>
        Data.SchemaShapes.Append<Row>(input, new Dictionary<string, string> { [nameof(Row.Score)] = scoreColumn, [nameof(Row.Stage)] = stageColumn });

    private sealed class Row
    {
        public float Score { get; set; }

        public int Stage { get; set; }
    }
}
