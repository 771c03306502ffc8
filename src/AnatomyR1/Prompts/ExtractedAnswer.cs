namespace AnatomyR1.Prompts;

/// <summary>What <see cref="AnswerExtractor"/> read from a completion.</summary>
/// <param name="Index">Zero-based option index, or −1 when no option was chosen.</param>
/// <param name="Text">The raw answer text (the <c>&lt;answer&gt;</c> content, or the whole completion where the
/// strategy uses it); null when there was none.</param>
public readonly record struct ExtractedAnswer(int Index, string? Text)
{
    /// <summary>Whether an option was chosen.</summary>
    public bool HasOption => Index >= 0;

    /// <summary>The chosen letter, or an empty string.</summary>
    public string Letter => Index >= 0 ? ((char)('A' + Index)).ToString() : string.Empty;
}
