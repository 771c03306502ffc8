namespace AnatomyR1.Rewards;

/// <summary>
/// A reward function for GRPO: scores a batch of completions given their rows. Return one value per completion,
/// or null for "not applicable" (the completion is then left out of that function's term and metrics).
/// </summary>
public interface IRewardFunction
{
    /// <summary>Name used in metrics (<c>rewards/&lt;name&gt;/mean</c>) and in weights.</summary>
    string Name { get; }

    /// <summary>Scores the completions.</summary>
    /// <param name="batch">Completions and the rows they answer, index-aligned.</param>
    /// <returns>One value (or null) per completion, in order.</returns>
    IReadOnlyList<float?> Score(RewardBatch batch);
}
