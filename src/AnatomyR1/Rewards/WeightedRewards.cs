namespace AnatomyR1.Rewards;

/// <summary>Per-completion totals and each function's raw scores for one batch.</summary>
/// <param name="Total">Σ weight·score over the applicable functions, per completion (0 when none applies).</param>
/// <param name="PerFunction">Each function's scores by name (null = not applicable).</param>
public sealed record RewardScores(float[] Total, IReadOnlyDictionary<string, float?[]> PerFunction)
{
    /// <summary>Mean and (population) standard deviation of a function's applicable scores; NaN when none applied.</summary>
    /// <param name="name">The function's name.</param>
    /// <returns>Mean and standard deviation.</returns>
    public (double Mean, double Std) Stats(string name)
    {
        var values = PerFunction[name].Where(v => v.HasValue).Select(v => (double)v!.Value).ToArray();
        if (values.Length == 0)
        {
            return (double.NaN, double.NaN);
        }

        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
        return (mean, Math.Sqrt(variance));
    }
}

/// <summary>
/// A weighted set of reward functions: the total reward of a completion is Σ wₖ·rₖ over the functions that apply to it.
/// Defaults: accuracy (weight 1) + format (weight 1), as in Anatomy-R1 / Med-R1.
/// </summary>
public sealed class WeightedRewards
{
    private readonly List<(IRewardFunction Function, float Weight)> _terms = new();

    /// <summary>The default set: <see cref="AccuracyReward"/> ×1 and <see cref="FormatReward"/> ×1.</summary>
    /// <param name="strategy">Answer extraction for the accuracy term.</param>
    /// <returns>The set.</returns>
    public static WeightedRewards Default(Prompts.AnswerExtractionStrategy strategy = Prompts.AnswerExtractionStrategy.OptionText) =>
        new WeightedRewards().Add(new AccuracyReward(strategy), 1f).Add(new FormatReward(), 1f);

    /// <summary>The functions and weights, in order.</summary>
    public IReadOnlyList<(IRewardFunction Function, float Weight)> Terms => _terms;

    /// <summary>Adds a function.</summary>
    /// <param name="function">The function; its name must be unique in the set.</param>
    /// <param name="weight">Its weight (finite).</param>
    /// <returns>This set.</returns>
    public WeightedRewards Add(IRewardFunction function, float weight = 1f)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (!float.IsFinite(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "Reward weights must be finite.");
        }

        if (_terms.Any(t => t.Function.Name == function.Name))
        {
            throw new ArgumentException($"A reward named '{function.Name}' is already in the set.", nameof(function));
        }

        _terms.Add((function, weight));
        return this;
    }

    /// <summary>Scores a batch with every function and sums the weighted scores.</summary>
    /// <param name="batch">The batch.</param>
    /// <returns>Totals and per-function scores.</returns>
    /// <exception cref="InvalidOperationException">A function returned the wrong number of scores or a non-finite score.</exception>
    public RewardScores Score(RewardBatch batch) => Score(batch, allowNonFinite: false);

    /// <summary>
    /// Scores a batch; with <paramref name="allowNonFinite"/> a NaN or infinite score is passed through into the totals
    /// (a trainer then skips and reports the step) instead of raising an error.
    /// </summary>
    /// <param name="batch">The batch.</param>
    /// <param name="allowNonFinite">Pass non-finite scores through instead of throwing.</param>
    /// <returns>Totals and per-function scores.</returns>
    /// <exception cref="InvalidOperationException">A function returned the wrong number of scores, or a non-finite score while not allowed.</exception>
    public RewardScores Score(RewardBatch batch, bool allowNonFinite)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var total = new float[batch.Count];
        var per = new Dictionary<string, float?[]>();
        foreach (var (function, weight) in _terms)
        {
            var scores = function.Score(batch);
            if (scores.Count != batch.Count)
            {
                throw new InvalidOperationException($"Reward '{function.Name}' returned {scores.Count} scores for {batch.Count} completions.");
            }

            var copy = new float?[batch.Count];
            for (int i = 0; i < batch.Count; i++)
            {
                if (scores[i] is float value)
                {
                    if (!allowNonFinite && !float.IsFinite(value))
                    {
                        throw new InvalidOperationException($"Reward '{function.Name}' returned {value} for completion {i}; use null for 'not applicable'.");
                    }

                    total[i] += weight * value;
                }

                copy[i] = scores[i];
            }

            per[function.Name] = copy;
        }

        return new RewardScores(total, per);
    }
}
