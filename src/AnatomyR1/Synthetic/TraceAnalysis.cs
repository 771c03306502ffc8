using System.Text.RegularExpressions;

namespace AnatomyR1.Synthetic;

/// <summary>What a completion's reasoning trace says: the anatomy it names last and the letter it looks up for it.</summary>
/// <param name="NamedClass">The anatomy class named in the final lookup ("the top-left is gut, option B"), or null.</param>
/// <param name="LookedUpLetter">The letter of that lookup, or null.</param>
public sealed record TraceReading(string? NamedClass, char? LookedUpLetter);

/// <summary>
/// Reads the final lookup of a synthetic-style trace, to tell perception errors (the trace names the wrong anatomy)
/// from lookup errors (the letter does not belong to the anatomy the trace named).
/// </summary>
public static partial class TraceAnalysis
{
    /// <summary>Reads the last "… is &lt;anatomy&gt;, option &lt;L&gt;" clause of the trace.</summary>
    /// <param name="completion">The completion.</param>
    /// <returns>The named class (matched to one of the six, ignoring case) and letter, or nulls.</returns>
    public static TraceReading Read(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var matches = Lookup().Matches(completion);
        if (matches.Count == 0)
        {
            return new TraceReading(null, null);
        }

        var last = matches[^1];
        string words = last.Groups[1].Value.Trim();
        string? named = AnatomyClasses.All.FirstOrDefault(c => string.Equals(AnatomyClasses.Words(c), words, StringComparison.OrdinalIgnoreCase));
        return new TraceReading(named, char.ToUpperInvariant(last.Groups[2].Value[0]));
    }

    [GeneratedRegex(@"\bis ([a-z][a-z ]*?)\s*,\s*option ([a-z])\b", RegexOptions.IgnoreCase)]
    private static partial Regex Lookup();
}
