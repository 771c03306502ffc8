using AnatomyR1.Data;

namespace AnatomyR1.TorchSharp;

/// <summary>How error messages name the record a sample came from.</summary>
internal static class SampleSource
{
    /// <summary>"file record N", else "sample 'id'", else "no source".</summary>
    /// <param name="sample">The sample.</param>
    /// <returns>The description.</returns>
    public static string Describe(VqaSample sample) =>
        sample.SourceFile.Length > 0 ? $"{sample.SourceFile} record {sample.RecordIndex}"
        : sample.SampleId.Length > 0 ? $"sample '{sample.SampleId}'"
        : "no source";
}
