namespace AnatomyR1.Data;

/// <summary>Rewrites an image path that starts with <paramref name="From"/> to start with <paramref name="To"/> instead.</summary>
/// <param name="From">The prefix as it appears in the data (compared ordinally, after trimming whitespace).</param>
/// <param name="To">Its replacement; may be empty.</param>
public sealed record ImagePathPrefixMap(string From, string To)
{
    /// <summary>Parses <c>FROM=TO</c> (as given on the command line).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The map.</returns>
    /// <exception cref="FormatException">The text has no '='.</exception>
    public static ImagePathPrefixMap Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new FormatException($"Prefix map '{text}' must have the form FROM=TO (TO may be empty).");
        }

        return new ImagePathPrefixMap(text[..eq], text[(eq + 1)..]);
    }
}
