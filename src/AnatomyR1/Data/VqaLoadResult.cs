using Microsoft.ML;

namespace AnatomyR1.Data;

/// <summary>The samples a load produced and its <see cref="VqaLoadReport"/>.</summary>
/// <param name="Samples">The loaded samples, in file order.</param>
/// <param name="Report">Counts and the issues of skipped records.</param>
public sealed record VqaLoadResult(IReadOnlyList<VqaSample> Samples, VqaLoadReport Report)
{
    /// <summary>Wraps the samples as an <see cref="IDataView"/> with the <see cref="VqaColumns"/> schema.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>The data view.</returns>
    public IDataView ToDataView(MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.Data.LoadFromEnumerable(Samples);
    }
}
