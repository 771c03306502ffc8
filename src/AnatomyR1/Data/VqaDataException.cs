namespace AnatomyR1.Data;

/// <summary>
/// Thrown when a question file cannot be loaded: in strict mode for the first bad record, in any mode for a file
/// that cannot be read or parsed at all. <see cref="Issue"/> names the file, record, line and field.
/// </summary>
public sealed class VqaDataException : Exception
{
    /// <summary>Creates the exception for one issue.</summary>
    /// <param name="issue">What is wrong and where.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public VqaDataException(VqaLoadIssue issue, Exception? inner = null)
        : base(issue.ToString(), inner)
    {
        Issue = issue;
    }

    /// <summary>What is wrong and where.</summary>
    public VqaLoadIssue Issue { get; }
}
