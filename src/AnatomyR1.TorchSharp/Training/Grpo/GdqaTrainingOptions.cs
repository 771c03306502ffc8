namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>When the trainer spreads a prompt's group over its question variants.</summary>
public enum GdqaMode
{
    /// <summary>Every drawn prompt that has variants (the rows the GDQA transform judged difficult). Default.</summary>
    Static,

    /// <summary>
    /// Only prompts whose most recent group had zero reward variance (all completions right or all wrong): the groups
    /// that gave no gradient last time get several entry points next time. Prompts not seen yet are not spread.
    /// </summary>
    Adaptive,
}

/// <summary>
/// GDQA in GRPO (<see cref="GrpoOptions.Gdqa"/>): a prompt with K question forms (<see cref="GrpoExample.Variants"/>,
/// from the GDQA transform) gets its G completions spread over them, G/K each with the remainder going to the first
/// forms (<see cref="GroupSplit.Counts"/>); the advantage is normalised over the whole group. Every field has a
/// documented default.
/// </summary>
public sealed class GdqaTrainingOptions
{
    /// <summary>Which drawn prompts are spread. Default <see cref="GdqaMode.Static"/>.</summary>
    public GdqaMode Mode { get; set; } = GdqaMode.Static;

    /// <summary>Most forms a group is spread over (the first ones, original included); 0 uses all. Default 0.</summary>
    public int MaxForms { get; set; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException($"GDQA option Mode = {Mode} is not defined.", nameof(Mode));
        }

        if (MaxForms < 0 || MaxForms == 1)
        {
            throw new ArgumentException($"GDQA option MaxForms = {MaxForms} is invalid: 0 (all) or at least 2.", nameof(MaxForms));
        }
    }

    /// <summary>A copy.</summary>
    /// <returns>The copy.</returns>
    public GdqaTrainingOptions Clone() => (GdqaTrainingOptions)MemberwiseClone();
}

/// <summary>How a group of G completions is split over K question forms.</summary>
public static class GroupSplit
{
    /// <summary>Completions per form: ⌊G/K⌋ each, and one more for each of the first G mod K forms (so the counts sum to G).</summary>
    /// <param name="g">Group size G (≥ 1).</param>
    /// <param name="k">Forms K (≥ 1).</param>
    /// <returns>K counts summing to G (forms beyond G get 0).</returns>
    public static int[] Counts(int g, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(g, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return Enumerable.Range(0, k).Select(v => (g / k) + (v < g % k ? 1 : 0)).ToArray();
    }
}
