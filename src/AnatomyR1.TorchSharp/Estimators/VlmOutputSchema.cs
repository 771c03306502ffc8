using AnatomyR1.Data;
using Microsoft.ML;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>The output schema shape of the policy trainers: the input plus the three text prediction columns.</summary>
internal static class VlmOutputSchema
{
    /// <summary>Checks the required columns and appends <c>Completion</c>, <c>PredictedLetter</c> and <c>PredictedAnswer</c>.</summary>
    /// <param name="inputSchema">The input shape.</param>
    /// <param name="questionColumn">A text column of the input (used as the type template).</param>
    /// <param name="required">Columns that must exist.</param>
    /// <returns>The output shape.</returns>
    public static SchemaShape Append(SchemaShape inputSchema, string questionColumn, IEnumerable<string> required)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (string name in required)
        {
            if (!inputSchema.Any(c => c.Name == name))
            {
                throw new ArgumentException($"The input has no '{name}' column.", nameof(inputSchema));
            }
        }

        // SchemaShape columns cannot be constructed outside ML.NET; copying the (text) question column into the three
        // output names through ML.NET's own estimator yields exactly the text columns the transformer adds.
        var transforms = new MLContext(seed: 0).Transforms;
        var copies = transforms.CopyColumns(VqaColumns.Completion, questionColumn)
            .Append(transforms.CopyColumns(VqaColumns.PredictedLetter, questionColumn))
            .Append(transforms.CopyColumns(VqaColumns.PredictedAnswer, questionColumn));
        return copies.GetOutputSchema(inputSchema);
    }
}
