using System.Text;
using AnatomyR1.Data;

namespace AnatomyR1.Prompts;

/// <summary>
/// Builds R1-style prompts that ask for <c>&lt;think&gt; … &lt;/think&gt; &lt;answer&gt;X&lt;/answer&gt;</c> from a question and its options.
/// </summary>
public sealed class R1PromptBuilder
{
    private readonly R1PromptOptions _options;

    /// <summary>Creates a builder.</summary>
    /// <param name="options">Template options; null for the defaults.</param>
    /// <exception cref="ArgumentException">The template lacks <c>{question}</c> or <c>{options}</c>.</exception>
    public R1PromptBuilder(R1PromptOptions? options = null)
    {
        _options = options ?? new R1PromptOptions();
        foreach (string required in new[] { "{question}", "{options}" })
        {
            if (!_options.Template.Contains(required, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The prompt template must contain {required}.", nameof(options));
            }
        }
    }

    /// <summary>Builds the prompt for a question and its options.</summary>
    /// <param name="question">The question.</param>
    /// <param name="options">The options in lettered order (2–26).</param>
    /// <returns>The prompt text.</returns>
    public string Build(string question, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Count is < 2 or > 26)
        {
            throw new ArgumentException($"A prompt needs 2–26 options, got {options.Count}.", nameof(options));
        }

        var lines = new StringBuilder();
        for (int i = 0; i < options.Count; i++)
        {
            if (i > 0)
            {
                lines.Append('\n');
            }

            lines.Append((char)('A' + i)).Append(". ").Append(options[i]);
        }

        return _options.Template
            .Replace("{image}", _options.ImageToken, StringComparison.Ordinal)
            .Replace("{question}", question.Trim(), StringComparison.Ordinal)
            .Replace("{options}", lines.ToString(), StringComparison.Ordinal)
            .Replace("{letters}", Letters(options.Count), StringComparison.Ordinal);
    }

    /// <summary>Builds the prompt for a multiple-choice sample.</summary>
    /// <param name="sample">The sample.</param>
    /// <returns>The prompt text.</returns>
    public string Build(VqaSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return Build(sample.Question, sample.Options);
    }

    private static string Letters(int count)
    {
        var letters = Enumerable.Range(0, count).Select(i => ((char)('A' + i)).ToString()).ToArray();
        return string.Join(", ", letters[..^1]) + " or " + letters[^1];
    }
}
