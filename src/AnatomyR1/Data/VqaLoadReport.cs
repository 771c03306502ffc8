namespace AnatomyR1.Data;

/// <summary>
/// What a load did: how many records the input held, how many were loaded and how many were skipped, with one
/// <see cref="VqaLoadIssue"/> per skipped record. <see cref="LoadedCount"/> + <see cref="SkippedCount"/> always
/// equals <see cref="InputCount"/>.
/// </summary>
public sealed class VqaLoadReport
{
    /// <summary>Creates a report.</summary>
    /// <param name="source">The file or folder loaded.</param>
    /// <param name="format">The format used.</param>
    /// <param name="inputCount">Records in the input.</param>
    /// <param name="loadedCount">Records loaded.</param>
    /// <param name="issues">One issue per skipped record.</param>
    public VqaLoadReport(string source, VqaFormat format, int inputCount, int loadedCount, IReadOnlyList<VqaLoadIssue> issues)
    {
        if (loadedCount + issues.Count != inputCount)
        {
            throw new InvalidOperationException($"Load accounting is inconsistent: {loadedCount} loaded + {issues.Count} skipped ≠ {inputCount} input records.");
        }

        Source = source;
        Format = format;
        InputCount = inputCount;
        LoadedCount = loadedCount;
        Issues = issues;
    }

    /// <summary>The file or folder loaded.</summary>
    public string Source { get; }

    /// <summary>The format used (never <see cref="VqaFormat.Auto"/>).</summary>
    public VqaFormat Format { get; }

    /// <summary>Records in the input.</summary>
    public int InputCount { get; }

    /// <summary>Records loaded.</summary>
    public int LoadedCount { get; }

    /// <summary>Records skipped (lenient mode only; strict mode throws instead).</summary>
    public int SkippedCount => Issues.Count;

    /// <summary>One issue per skipped record, in file order.</summary>
    public IReadOnlyList<VqaLoadIssue> Issues { get; }
}
