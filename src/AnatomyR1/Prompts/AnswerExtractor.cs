using System.Text.RegularExpressions;
using AnatomyR1.Data;

namespace AnatomyR1.Prompts;

/// <summary>Reads the chosen option from a model completion with a selectable <see cref="AnswerExtractionStrategy"/>.</summary>
public sealed partial class AnswerExtractor
{
    /// <summary>Creates an extractor.</summary>
    /// <param name="strategy">The strategy; default <see cref="AnswerExtractionStrategy.OptionText"/>.</param>
    public AnswerExtractor(AnswerExtractionStrategy strategy = AnswerExtractionStrategy.OptionText)
    {
        Strategy = strategy;
    }

    /// <summary>The strategy in use.</summary>
    public AnswerExtractionStrategy Strategy { get; }

    /// <summary>Extracts the chosen option.</summary>
    /// <param name="completion">The completion text.</param>
    /// <param name="options">The question's options in lettered order.</param>
    /// <returns>The chosen option (or none) and the raw answer text.</returns>
    public ExtractedAnswer Extract(string completion, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(options);
        return Strategy switch
        {
            AnswerExtractionStrategy.TagLetter => ExtractTagLetter(completion, options.Count),
            AnswerExtractionStrategy.OptionText => ExtractOptionText(completion, options),
            AnswerExtractionStrategy.NearestOption => ExtractNearest(completion, options),
            _ => throw new InvalidOperationException($"Unknown strategy {Strategy}."),
        };
    }

    /// <summary>The content of the first <c>&lt;answer&gt;…&lt;/answer&gt;</c> tag (dot matches newline), or null.</summary>
    /// <param name="completion">The completion text.</param>
    /// <returns>The trimmed tag content, or null when there is no complete tag.</returns>
    public static string? AnswerTagContent(string completion)
    {
        var m = AnswerTag().Match(completion);
        return m.Success ? m.Groups[1].Value.Trim() : null;
    }

    private static ExtractedAnswer ExtractTagLetter(string completion, int optionCount)
    {
        var m = TagWord().Match(completion);
        if (!m.Success)
        {
            return new ExtractedAnswer(-1, null);
        }

        string word = m.Groups[1].Value;
        int index = word.Length == 1 && char.IsAsciiLetter(word[0]) ? char.ToUpperInvariant(word[0]) - 'A' : -1;
        return new ExtractedAnswer(index >= 0 && index < optionCount ? index : -1, word);
    }

    private static ExtractedAnswer ExtractOptionText(string completion, IReadOnlyList<string> options)
    {
        string? content = AnswerTagContent(completion);
        return content is null ? new ExtractedAnswer(-1, null) : new ExtractedAnswer(MatchOption(content, options), content);
    }

    private static ExtractedAnswer ExtractNearest(string completion, IReadOnlyList<string> options)
    {
        string prediction = AnswerTagContent(completion) ?? completion;
        int best = -1;
        double bestRatio = double.NegativeInfinity;
        for (int i = 0; i < options.Count; i++)
        {
            double ratio = SequenceMatcher.Ratio(options[i], prediction);
            if (ratio > bestRatio)
            {
                best = i;
                bestRatio = ratio;
            }
        }

        return new ExtractedAnswer(best, prediction);
    }

    /// <summary>Matches answer text to an option: a letter form first, then option text; −1 if neither.</summary>
    /// <param name="content">The answer text.</param>
    /// <param name="options">The options.</param>
    /// <returns>The option index, or −1.</returns>
    public static int MatchOption(string content, IReadOnlyList<string> options)
    {
        string text = content.Trim().Trim('"', '\'', '*', '`').Trim();
        var letter = LetterForm().Match(text);
        if (letter.Success)
        {
            int index = char.ToUpperInvariant(letter.Groups[1].Value[0]) - 'A';
            if (index >= 0 && index < options.Count)
            {
                return index;
            }
        }

        string key = OptionChecks.Key(text.TrimEnd('.', '!'));
        for (int i = 0; i < options.Count; i++)
        {
            if (OptionChecks.Key(options[i]) == key)
            {
                return i;
            }
        }

        return -1;
    }

    [GeneratedRegex(@"<answer>(.*?)</answer>", RegexOptions.Singleline)]
    private static partial Regex AnswerTag();

    [GeneratedRegex(@"<answer>\s*(\w+)\s*</answer>")]
    private static partial Regex TagWord();

    // "B", "B.", "(B)", "B)", "B:", "B. Liver", "Option B", "option (B)".
    [GeneratedRegex(@"^(?:option\s*)?\(?([A-Za-z])\)?(?:[\.\):]|$)(?:\s.*)?$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex LetterForm();
}
