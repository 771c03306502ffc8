namespace AnatomyR1.Evaluation;

/// <summary>
/// Two methods answered the same questions: the difference in accuracy (B − A) with a paired bootstrap confidence
/// interval, the discordant pairs and McNemar's exact test, and the smallest difference the design can detect.
/// Comparing on the same questions removes the between-question variance that two independent accuracies carry.
/// </summary>
/// <param name="Count">Questions both answered.</param>
/// <param name="AccuracyA">Accuracy of A.</param>
/// <param name="AccuracyB">Accuracy of B.</param>
/// <param name="Difference">B − A.</param>
/// <param name="Lower">Lower end of the bootstrap interval of the difference.</param>
/// <param name="Upper">Upper end of the bootstrap interval of the difference.</param>
/// <param name="Level">Confidence level of the interval (e.g. 0.95).</param>
/// <param name="OnlyA">Questions A answered right and B wrong.</param>
/// <param name="OnlyB">Questions B answered right and A wrong.</param>
/// <param name="McNemarP">Two-sided exact McNemar p-value: 2 · P(X ≤ min(OnlyA, OnlyB)) for X ~ Binomial(OnlyA + OnlyB, ½), at most 1.</param>
/// <param name="MinimumDetectableEffect">
/// The difference detectable with 80% power at α = 0.05 (two-sided) given the observed share of discordant questions d:
/// (1.960 + 0.842) · √(d / n) — the normal approximation of McNemar's test.
/// </param>
public sealed record PairedComparison(int Count, double AccuracyA, double AccuracyB, double Difference, double Lower, double Upper, double Level,
    int OnlyA, int OnlyB, double McNemarP, double MinimumDetectableEffect)
{
    /// <summary>Whether the interval excludes zero.</summary>
    public bool Significant => Lower > 0 || Upper < 0;

    /// <summary>Compares per-question correctness of two methods on the same questions.</summary>
    /// <param name="a">Whether A answered each question right.</param>
    /// <param name="b">Whether B answered each question right (same questions, same order).</param>
    /// <param name="resamples">Bootstrap resamples (default 10,000).</param>
    /// <param name="seed">Seed of the resampling (the interval is reproducible).</param>
    /// <param name="level">Confidence level (default 0.95).</param>
    /// <returns>The comparison.</returns>
    /// <exception cref="ArgumentException">The lists differ in length or are empty, or an argument is out of range.</exception>
    public static PairedComparison Of(IReadOnlyList<bool> a, IReadOnlyList<bool> b, int resamples = 10_000, int seed = 0, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count || a.Count == 0)
        {
            throw new ArgumentException($"A paired comparison needs the same non-empty list of questions for both methods (got {a.Count} and {b.Count}).", nameof(b));
        }

        if (resamples < 100)
        {
            throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "At least 100 bootstrap resamples.");
        }

        if (level is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "The confidence level is in (0, 1).");
        }

        int n = a.Count;
        var d = new int[n];
        int onlyA = 0, onlyB = 0, rightA = 0, rightB = 0;
        for (int i = 0; i < n; i++)
        {
            d[i] = (b[i] ? 1 : 0) - (a[i] ? 1 : 0);
            onlyA += d[i] < 0 ? 1 : 0;
            onlyB += d[i] > 0 ? 1 : 0;
            rightA += a[i] ? 1 : 0;
            rightB += b[i] ? 1 : 0;
        }

        var random = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            long sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += d[random.Next(n)];
            }

            means[r] = (double)sum / n;
        }

        Array.Sort(means);
        double tail = (1 - level) / 2;
        double lower = Quantile(means, tail), upper = Quantile(means, 1 - tail);
        double discordant = (double)(onlyA + onlyB) / n;
        return new PairedComparison(n, (double)rightA / n, (double)rightB / n, (double)(rightB - rightA) / n, lower, upper, level,
            onlyA, onlyB, McNemar(onlyA, onlyB), (1.959964 + 0.841621) * Math.Sqrt(discordant / n));
    }

    /// <summary>Two-sided exact McNemar p-value for the discordant counts.</summary>
    /// <param name="onlyA">Pairs only A got right.</param>
    /// <param name="onlyB">Pairs only B got right.</param>
    /// <returns>The p-value (1 when there are no discordant pairs).</returns>
    public static double McNemar(int onlyA, int onlyB)
    {
        int m = onlyA + onlyB;
        if (m == 0)
        {
            return 1;
        }

        int k = Math.Min(onlyA, onlyB);

        // P(X ≤ k), X ~ Binomial(m, ½), summed in log space.
        double logHalf = m * Math.Log(0.5), cdf = 0, logChoose = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0)
            {
                logChoose += Math.Log(m - i + 1) - Math.Log(i);
            }

            cdf += Math.Exp(logChoose + logHalf);
        }

        return Math.Min(1, 2 * cdf);
    }

    private static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }
}
