using AnatomyR1.Data;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The G completions of one prompt with their scores: the prompt and question form each completion answered (one
/// form, or several when GDQA spreads the group over question variants), token ids (up to and including the end
/// token), texts, which were cut off, total rewards and each reward function's scores.
/// </summary>
internal sealed class GroupRollout
{
    public GroupRollout(int exampleIndex, IReadOnlyList<VqaSample> forms, IReadOnlyList<string> prompts, List<int[]> tokens, List<string> texts, List<bool> truncated)
    {
        ExampleIndex = exampleIndex;
        Forms = forms;
        Prompts = prompts;
        Tokens = tokens;
        Texts = texts;
        Truncated = truncated;
    }

    public int ExampleIndex { get; }

    /// <summary>The question form each completion answered (rewards are computed against it).</summary>
    public IReadOnlyList<VqaSample> Forms { get; }

    /// <summary>The prompt of each completion.</summary>
    public IReadOnlyList<string> Prompts { get; }

    public List<int[]> Tokens { get; }

    public List<string> Texts { get; }

    public List<bool> Truncated { get; }

    public float[] Rewards { get; set; } = Array.Empty<float>();

    public Dictionary<string, float?[]> PerFunction { get; set; } = new();

    public int Size => Tokens.Count;

    /// <summary>Whether the group was spread over more than one question form.</summary>
    public bool Spread => Forms.Distinct().Skip(1).Any();

    public bool ZeroStd => GrpoAdvantages.IsZeroStd(Rewards, 0, Rewards.Length);

    public bool Finite => Rewards.All(float.IsFinite);
}
