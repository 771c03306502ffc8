using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace AnatomyR1.TorchSharp.Lora;

/// <summary>
/// PEFT's module-name matching: a plain name matches a module named exactly so or ending with <c>"." + name</c>; a
/// pattern that starts with <c>^</c> or contains any of <c>$*+?()[]{}|\</c> is a regular expression matched against
/// the whole name.
/// </summary>
public static class LoraModulePattern
{
    private static readonly char[] RegexCharacters = { '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '\\' };
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    /// <summary>Whether a pattern is a regular expression (rather than a plain name or suffix).</summary>
    /// <param name="pattern">The pattern.</param>
    /// <returns>True when it starts with <c>^</c> or contains a regular-expression character other than the dot.</returns>
    public static bool IsRegex(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return pattern.StartsWith('^') || pattern.IndexOfAny(RegexCharacters) >= 0;
    }

    /// <summary>Whether a module name matches a pattern.</summary>
    /// <param name="pattern">A plain name/suffix or a full-match regular expression.</param>
    /// <param name="moduleName">The module's dotted name in its model (as <c>named_modules()</c> gives it).</param>
    /// <returns>True on a match.</returns>
    public static bool Matches(string pattern, string moduleName)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(moduleName);
        if (IsRegex(pattern))
        {
            return Compiled.GetOrAdd(pattern, Compile).IsMatch(moduleName);
        }

        return moduleName == pattern || moduleName.EndsWith("." + pattern, StringComparison.Ordinal);
    }

    /// <summary>Whether a module name matches any of the patterns.</summary>
    /// <param name="patterns">The patterns.</param>
    /// <param name="moduleName">The module's name.</param>
    /// <returns>True when one matches.</returns>
    public static bool MatchesAny(IEnumerable<string> patterns, string moduleName) => patterns.Any(p => Matches(p, moduleName));

    /// <summary>Checks that a pattern is usable: not empty and, when it is a regular expression, valid.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <exception cref="ArgumentException">It is empty or an invalid regular expression.</exception>
    public static void Check(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new ArgumentException("A LoRA module pattern is empty.");
        }

        if (IsRegex(pattern))
        {
            try
            {
                Compiled.GetOrAdd(pattern, Compile);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"LoRA module pattern '{pattern}' is not a valid regular expression: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// The patterns as PEFT's <c>target_modules</c>/<c>exclude_modules</c> expect them: the list itself when every
    /// pattern is a plain name (PEFT matches list entries as names or suffixes), otherwise one regular expression
    /// (PEFT full-matches a string) that matches exactly what the patterns match; null for no patterns.
    /// </summary>
    /// <param name="patterns">The patterns.</param>
    /// <returns>A string list, a string or null.</returns>
    internal static object? ToPeft(IReadOnlyList<string> patterns)
    {
        if (patterns.Count == 0)
        {
            return null;
        }

        if (!patterns.Any(IsRegex))
        {
            return patterns.ToArray();
        }

        return string.Join("|", patterns.Select(p => IsRegex(p) ? $"(?:{p})" : $"(?:(?:.*\\.)?{Regex.Escape(p)})"));
    }

    /// <summary>PEFT's single-string form (a full-match regular expression) as a pattern of this class.</summary>
    /// <param name="regex">The regular expression.</param>
    /// <returns>An equivalent pattern (anchored, so it is always read as a regular expression).</returns>
    internal static string FromPeftRegex(string regex) => $"^(?:{regex})$";

    private static Regex Compile(string pattern) =>
        new($"^(?:{pattern})\\z", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
}
