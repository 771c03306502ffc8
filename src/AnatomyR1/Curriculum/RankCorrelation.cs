namespace AnatomyR1.Curriculum;

/// <summary>Spearman's rank correlation with average ranks for ties.</summary>
public static class RankCorrelation
{
    /// <summary>Spearman's ρ: the Pearson correlation of the average ranks of <paramref name="x"/> and <paramref name="y"/>.</summary>
    /// <param name="x">First sample.</param>
    /// <param name="y">Second sample, same length.</param>
    /// <returns>ρ in [−1, 1]; NaN for fewer than 2 values or when either sample is constant.</returns>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"The samples have {x.Count} and {y.Count} values; they must be equally long.", nameof(y));
        }

        return x.Count < 2 ? double.NaN : Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>1-based ranks, tied values sharing the mean of their ranks.</summary>
    /// <param name="values">The values.</param>
    /// <returns>The ranks.</returns>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]].Equals(values[order[start]]))
            {
                end++;
            }

            double rank = ((start + end) / 2.0) + 1;
            for (int k = start; k <= end; k++)
            {
                ranks[order[k]] = rank;
            }

            start = end + 1;
        }

        return ranks;
    }

    private static double Pearson(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average();
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }

        return saa == 0 || sbb == 0 ? double.NaN : sab / Math.Sqrt(saa * sbb);
    }
}
