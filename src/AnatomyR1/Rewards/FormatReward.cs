using System.Text.RegularExpressions;

namespace AnatomyR1.Rewards;

/// <summary>
/// <c>format</c>: 1 when the whole completion is <c>&lt;think&gt;…&lt;/think&gt;</c> then <c>&lt;answer&gt;…&lt;/answer&gt;</c>
/// with only whitespace around (regex <c>^\s*&lt;think&gt;.*?&lt;/think&gt;\s*&lt;answer&gt;.*?&lt;/answer&gt;\s*$</c>, dot
/// matches newline), else 0.
/// </summary>
public sealed partial class FormatReward : IRewardFunction
{
    /// <inheritdoc />
    public string Name => "format";

    /// <summary>Whether one completion follows the R1 format.</summary>
    /// <param name="completion">The completion.</param>
    /// <returns>True when it matches.</returns>
    public static bool Matches(string completion) => Pattern().IsMatch(completion);

    /// <inheritdoc />
    public IReadOnlyList<float?> Score(RewardBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Completions.Select(c => (float?)(Matches(c) ? 1f : 0f)).ToArray();
    }

    [GeneratedRegex(@"^\s*<think>.*?</think>\s*<answer>.*?</answer>\s*$", RegexOptions.Singleline)]
    private static partial Regex Pattern();
}
