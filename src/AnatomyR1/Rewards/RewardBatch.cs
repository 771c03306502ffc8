using AnatomyR1.Data;

namespace AnatomyR1.Rewards;

/// <summary>The row a completion answers: the sample and, for custom rewards, any further columns of the row.</summary>
/// <param name="Sample">The question, options, correct answer and metadata.</param>
/// <param name="Columns">Further columns of the row by name (e.g. from the user's own pipeline); may be empty.</param>
public sealed record RewardRow(VqaSample Sample, IReadOnlyDictionary<string, object?> Columns)
{
    /// <summary>Creates a row with no extra columns.</summary>
    /// <param name="sample">The sample.</param>
    public RewardRow(VqaSample sample)
        : this(sample, new Dictionary<string, object?>())
    {
    }
}

/// <summary>Completions and the rows they answer, index-aligned (G completions per prompt repeat the row).</summary>
public sealed class RewardBatch
{
    /// <summary>Creates a batch.</summary>
    /// <param name="completions">The completions.</param>
    /// <param name="rows">The row of each completion.</param>
    /// <exception cref="ArgumentException">The lists differ in length.</exception>
    public RewardBatch(IReadOnlyList<string> completions, IReadOnlyList<RewardRow> rows)
    {
        ArgumentNullException.ThrowIfNull(completions);
        ArgumentNullException.ThrowIfNull(rows);
        if (completions.Count != rows.Count)
        {
            throw new ArgumentException($"{completions.Count} completions but {rows.Count} rows; they must be index-aligned.", nameof(rows));
        }

        Completions = completions;
        Rows = rows;
    }

    /// <summary>The completions.</summary>
    public IReadOnlyList<string> Completions { get; }

    /// <summary>The row of each completion.</summary>
    public IReadOnlyList<RewardRow> Rows { get; }

    /// <summary>Number of completions.</summary>
    public int Count => Completions.Count;
}
