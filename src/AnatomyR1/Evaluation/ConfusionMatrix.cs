namespace AnatomyR1.Evaluation;

/// <summary>
/// Counts of (true answer class, predicted class). <see cref="Labels"/> lists the classes in sorted order, with
/// <see cref="NoAnswer"/> last when some predictions chose nothing; <c>Counts[t][p]</c> counts rows of true class
/// <c>Labels[t]</c> predicted as <c>Labels[p]</c>.
/// </summary>
/// <param name="Labels">The class labels.</param>
/// <param name="Counts">The counts, rows = true class, columns = predicted class.</param>
public sealed record ConfusionMatrix(IReadOnlyList<string> Labels, IReadOnlyList<IReadOnlyList<int>> Counts)
{
    /// <summary>The label used when no option was chosen.</summary>
    public const string NoAnswer = "(no answer)";

    /// <summary>The count for a true and a predicted label (0 when either is unknown).</summary>
    /// <param name="truth">True class.</param>
    /// <param name="predicted">Predicted class.</param>
    /// <returns>The count.</returns>
    public int this[string truth, string predicted]
    {
        get
        {
            int t = IndexOf(truth);
            int p = IndexOf(predicted);
            return t < 0 || p < 0 ? 0 : Counts[t][p];
        }
    }

    private int IndexOf(string label)
    {
        for (int i = 0; i < Labels.Count; i++)
        {
            if (Labels[i] == label)
            {
                return i;
            }
        }

        return -1;
    }
}
