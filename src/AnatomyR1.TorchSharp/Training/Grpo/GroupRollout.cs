namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The G completions of one prompt with their scores: token ids (up to and including the end token), texts, which
/// were cut off, total rewards and each reward function's scores.
/// </summary>
internal sealed class GroupRollout
{
    public GroupRollout(int exampleIndex, string prompt, List<int[]> tokens, List<string> texts, List<bool> truncated)
    {
        ExampleIndex = exampleIndex;
        Prompt = prompt;
        Tokens = tokens;
        Texts = texts;
        Truncated = truncated;
    }

    public int ExampleIndex { get; }

    public string Prompt { get; }

    public List<int[]> Tokens { get; }

    public List<string> Texts { get; }

    public List<bool> Truncated { get; }

    public float[] Rewards { get; set; } = Array.Empty<float>();

    public Dictionary<string, float?[]> PerFunction { get; set; } = new();

    public int Size => Tokens.Count;

    public bool ZeroStd => GrpoAdvantages.IsZeroStd(Rewards, 0, Rewards.Length);

    public bool Finite => Rewards.All(float.IsFinite);
}
