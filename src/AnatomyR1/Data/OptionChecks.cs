namespace AnatomyR1.Data;

/// <summary>Validation shared by the multiple-choice formats.</summary>
internal static class OptionChecks
{
    /// <summary>Letter for a zero-based option index (A, B, …).</summary>
    public static string Letter(int index) => ((char)('A' + index)).ToString();

    /// <summary>Normalises text for option comparison: trimmed, inner whitespace collapsed, case folded.</summary>
    public static string Key(string text)
    {
        Span<char> buffer = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
        int n = 0;
        bool space = false;
        foreach (char c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c) || c == '_')
            {
                space = true;
                continue;
            }

            if (space && n > 0)
            {
                buffer[n++] = ' ';
            }

            space = false;
            buffer[n++] = char.ToLowerInvariant(c);
        }

        return new string(buffer[..n]);
    }

    /// <summary>Checks option count, emptiness and duplicates.</summary>
    public static void Validate(IReadOnlyList<string> options, string field)
    {
        if (options.Count < 2)
        {
            throw new RecordError(field, $"a multiple-choice question needs at least 2 options, found {options.Count}");
        }

        if (options.Count > 26)
        {
            throw new RecordError(field, $"at most 26 options (A–Z) are supported, found {options.Count}");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < options.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options[i]))
            {
                throw new RecordError(field, $"option {Letter(i)} is empty");
            }

            string key = Key(options[i]);
            if (seen.TryGetValue(key, out int first))
            {
                throw new RecordError(field, $"options {Letter(first)} and {Letter(i)} are the same ('{options[i].Trim()}')");
            }

            seen[key] = i;
        }
    }

    /// <summary>Finds the option equal to <paramref name="answer"/> (ordinal after trimming, then by <see cref="Key"/>); −1 if none.</summary>
    public static int IndexOfAnswer(IReadOnlyList<string> options, string answer)
    {
        string trimmed = answer.Trim();
        for (int i = 0; i < options.Count; i++)
        {
            if (string.Equals(options[i].Trim(), trimmed, StringComparison.Ordinal))
            {
                return i;
            }
        }

        string key = Key(answer);
        for (int i = 0; i < options.Count; i++)
        {
            if (Key(options[i]) == key)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Parses an answer letter such as <c>B</c>, <c>b</c>, <c>B.</c>, <c>(B)</c> or <c>&lt;answer&gt;B&lt;/answer&gt;</c>; null if it is not one letter.</summary>
    public static char? ParseLetter(string text)
    {
        var span = text.AsSpan().Trim();
        if (span.StartsWith("<answer>", StringComparison.OrdinalIgnoreCase) && span.EndsWith("</answer>", StringComparison.OrdinalIgnoreCase))
        {
            span = span[8..^9].Trim();
        }

        span = span.Trim("().:) ".AsSpan());
        if (span.Length == 1 && char.IsAsciiLetter(span[0]))
        {
            return char.ToUpperInvariant(span[0]);
        }

        return null;
    }

    /// <summary>Display form of an answer class: snake_case words become Title Case (abdominal_wall_cavity → Abdominal Wall Cavity).</summary>
    public static string DisplayClass(string answer)
    {
        string trimmed = answer.Trim();
        if (trimmed.Length == 0 || !trimmed.Contains('_', StringComparison.Ordinal) && !char.IsLower(trimmed[0]))
        {
            return trimmed;
        }

        var words = trimmed.Split(new[] { '_', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
    }
}
