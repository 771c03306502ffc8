namespace AnatomyR1.Curriculum;

/// <summary>Quantiles of sorted samples by linear interpolation between order statistics.</summary>
internal static class Quantiles
{
    /// <summary>The q-quantile of ascending values: position q·(n − 1), interpolated between its neighbours.</summary>
    /// <param name="sorted">Ascending, non-empty.</param>
    /// <param name="q">In [0, 1].</param>
    /// <returns>The quantile.</returns>
    public static float Linear(IReadOnlyList<float> sorted, double q)
    {
        double position = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(position);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return (float)(sorted[lo] + ((sorted[hi] - sorted[lo]) * (position - lo)));
    }
}
