namespace AnatomyR1.Curriculum;

/// <summary>S(q): how similar a question's distractors are to its answer (low = easy, high = hard).</summary>
public static class OptionSimilarityScore
{
    /// <summary>Computes S(q) for one question.</summary>
    /// <param name="options">The option texts (at least 2).</param>
    /// <param name="correctIndex">Index of the correct option (ignored by <see cref="SimilarityAggregation.MeanAllPairs"/>).</param>
    /// <param name="measure">The pair similarity.</param>
    /// <param name="aggregation">How pairs are combined.</param>
    /// <returns>S(q); <see cref="float.NaN"/> when it is undefined (fewer than 2 options, or no correct index where one is needed).</returns>
    public static float Compute(IReadOnlyList<string> options, int correctIndex, IOptionSimilarity measure, SimilarityAggregation aggregation = SimilarityAggregation.MeanToAnswer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(measure);
        int n = options.Count;
        if (n < 2)
        {
            return float.NaN;
        }

        if (aggregation == SimilarityAggregation.MeanAllPairs)
        {
            double sum = 0;
            int pairs = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = i + 1; j < n; j++)
                {
                    sum += measure.Similarity(options[i], options[j]);
                    pairs++;
                }
            }

            return (float)(sum / pairs);
        }

        if (correctIndex < 0 || correctIndex >= n)
        {
            return float.NaN;
        }

        string answer = options[correctIndex];
        double total = 0;
        double max = double.NegativeInfinity;
        for (int d = 0; d < n; d++)
        {
            if (d == correctIndex)
            {
                continue;
            }

            double s = measure.Similarity(answer, options[d]);
            total += s;
            max = Math.Max(max, s);
        }

        return (float)(aggregation == SimilarityAggregation.MaxToAnswer ? max : total / (n - 1));
    }
}
