namespace AnatomyR1.Rewards;

/// <summary>A reward function from a delegate, for quick custom rewards and tests.</summary>
public sealed class DelegateRewardFunction : IRewardFunction
{
    private readonly Func<RewardBatch, IReadOnlyList<float?>> _score;

    /// <summary>Creates the function.</summary>
    /// <param name="name">Its metric name.</param>
    /// <param name="score">Scores a batch: one value or null per completion.</param>
    public DelegateRewardFunction(string name, Func<RewardBatch, IReadOnlyList<float?>> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _score = score ?? throw new ArgumentNullException(nameof(score));
    }

    /// <summary>Creates a per-completion function.</summary>
    /// <param name="name">Its metric name.</param>
    /// <param name="score">Scores one completion and its row; null means not applicable.</param>
    /// <returns>The reward function.</returns>
    public static DelegateRewardFunction PerCompletion(string name, Func<string, RewardRow, float?> score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return new DelegateRewardFunction(name, batch => batch.Completions.Select((c, i) => score(c, batch.Rows[i])).ToArray());
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<float?> Score(RewardBatch batch) => _score(batch);
}
