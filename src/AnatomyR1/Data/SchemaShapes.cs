using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Data;

/// <summary>
/// Output schema shapes for AnatomyR1 estimators. <see cref="SchemaShape.Column"/> cannot be constructed outside
/// ML.NET, so ML.NET's own custom-mapping estimator (never fitted) describes the added columns: the public properties
/// of a class, optionally renamed.
/// </summary>
internal static class SchemaShapes
{
    /// <summary>The input shape plus the columns of <typeparamref name="TAdded"/>.</summary>
    /// <typeparam name="TAdded">A class whose public properties are the added columns.</typeparam>
    /// <param name="input">The input shape.</param>
    /// <param name="names">Property name → column name, for columns whose name is an option; may be null.</param>
    /// <returns>The output shape.</returns>
    public static SchemaShape Append<TAdded>(SchemaShape input, IReadOnlyDictionary<string, string>? names = null)
        where TAdded : class, new()
    {
        var output = SchemaDefinition.Create(typeof(TAdded));
        foreach (var (property, column) in names ?? new Dictionary<string, string>())
        {
            output[property].ColumnName = column;
        }

        return new MLContext(seed: 0).Transforms.CustomMapping<NoColumns, TAdded>((_, _) => { }, contractName: null, outputSchemaDefinition: output).GetOutputSchema(input);
    }

    private sealed class NoColumns
    {
    }
}
