using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>The schema of the two columns the similarity scorer adds.</summary>
internal static class SimilarityColumns
{
    /// <summary>Appends a Single and an Int32 column (replacing same-named input columns).</summary>
    public static DataViewSchema AppendTo(DataViewSchema input, string scoreColumn, string stageColumn) =>
        Data.ComputedColumnsDataView<object>.BuildSchema(input, new[] { (scoreColumn, (DataViewType)NumberDataViewType.Single), (stageColumn, NumberDataViewType.Int32) });

    /// <summary>
    /// The same for a schema shape. <see cref="SchemaShape.Column"/> cannot be constructed outside ML.NET, so ML.NET's
    /// own custom-mapping estimator (never fitted) describes the two columns.
    /// </summary>
    public static SchemaShape AppendTo(SchemaShape input, string scoreColumn, string stageColumn)
    {
        var output = SchemaDefinition.Create(typeof(Row));
        output[nameof(Row.Score)].ColumnName = scoreColumn;
        output[nameof(Row.Stage)].ColumnName = stageColumn;
        var estimator = new MLContext(seed: 0).Transforms.CustomMapping<NoColumns, Row>((_, _) => { }, contractName: null, outputSchemaDefinition: output);
        return estimator.GetOutputSchema(input);
    }

    private sealed class NoColumns
    {
    }

    private sealed class Row
    {
        public float Score { get; set; }

        public int Stage { get; set; }
    }
}
