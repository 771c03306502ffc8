namespace AnatomyR1.Curriculum;

/// <summary>One bin of questions with similar S(q): how many, their S(q) range, and the accuracy on them.</summary>
/// <param name="Index">0-based bin (0 = lowest S(q)).</param>
/// <param name="Count">Questions in the bin.</param>
/// <param name="MinScore">Lowest S(q) in the bin.</param>
/// <param name="MaxScore">Highest S(q) in the bin.</param>
/// <param name="MeanScore">Mean S(q).</param>
/// <param name="Accuracy">Share answered correctly.</param>
/// <param name="StandardError">Binomial standard error of <paramref name="Accuracy"/>: √(p(1 − p)/n).</param>
public sealed record DifficultyBin(int Index, int Count, double MinScore, double MaxScore, double MeanScore, double Accuracy, double StandardError);

/// <summary>
/// Does accuracy fall as S(q) rises? Splits questions into equal-count bins by S(q) (quintiles by default; ties broken
/// by input order) and reports accuracy per bin, plus the Spearman rank correlation between S(q) and correctness
/// (negative when harder-looking questions are answered less often).
/// </summary>
/// <param name="Bins">The bins, from low to high S(q).</param>
/// <param name="Spearman">Spearman's ρ between S(q) and correctness (1/0), with average ranks for ties; NaN when either is constant.</param>
/// <param name="Count">Questions analysed (those with a finite S(q)).</param>
public sealed record DifficultyAnalysis(IReadOnlyList<DifficultyBin> Bins, double Spearman, int Count)
{
    /// <summary>Analyses questions.</summary>
    /// <param name="scores">S(q) per question; non-finite values are left out.</param>
    /// <param name="correct">Whether each question was answered correctly.</param>
    /// <param name="bins">Number of bins (5 = quintiles).</param>
    /// <returns>The analysis.</returns>
    public static DifficultyAnalysis Compute(IReadOnlyList<float> scores, IReadOnlyList<bool> correct, int bins = 5)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(correct);
        if (scores.Count != correct.Count)
        {
            throw new ArgumentException($"{scores.Count} scores but {correct.Count} correctness flags.", nameof(correct));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var rows = Enumerable.Range(0, scores.Count).Where(i => float.IsFinite(scores[i])).OrderBy(i => scores[i]).ThenBy(i => i).ToArray();
        var result = new List<DifficultyBin>(bins);
        for (int b = 0; b < bins && rows.Length > 0; b++)
        {
            int from = (int)((long)b * rows.Length / bins);
            int to = (int)((long)(b + 1) * rows.Length / bins);
            var members = rows[from..to];
            if (members.Length == 0)
            {
                continue;
            }

            double accuracy = members.Average(i => correct[i] ? 1.0 : 0.0);
            result.Add(new DifficultyBin(b, members.Length, scores[members[0]], scores[members[^1]], members.Average(i => (double)scores[i]),
                accuracy, Math.Sqrt(accuracy * (1 - accuracy) / members.Length)));
        }

        double rho = RankCorrelation.Spearman(rows.Select(i => (double)scores[i]).ToArray(), rows.Select(i => correct[i] ? 1.0 : 0.0).ToArray());
        return new DifficultyAnalysis(result, rho, rows.Length);
    }
}
