using System.Text.RegularExpressions;
using AnatomyR1.Data;

namespace AnatomyR1.Augmentation;

/// <summary>
/// Parses SSG-VQA-style question text (the published Anatomy-R1 records and the synthetic scenes) into a
/// <see cref="ParsedQuestion"/>: positional questions, attribute questions, and relational questions with any number
/// of relations, in the "What is the name of …", "What name is …" and "There is a …; what is it?" forms. Anything else
/// is not parsed (null), so a caller can leave the record alone and count it instead of guessing.
/// </summary>
public static partial class SsgQuestionParser
{
    /// <summary>Parses a question.</summary>
    /// <param name="question">The question text.</param>
    /// <returns>The structure, or null when the text is not one of the handled forms.</returns>
    public static ParsedQuestion? Parse(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        string q = Whitespace().Replace(question.Trim(), " ");
        var family = QuestionFamilyClassifier.Classify(q);
        ParsedQuestion? parsed = null;
        if (Positional().Match(q) is { Success: true } p)
        {
            parsed = new ParsedQuestion(family, QuestionShape.Positional, p.Groups["noun"].Value.ToLowerInvariant(), p.Groups["cell"].Value, Array.Empty<ParsedRelation>(), -1);
        }
        else if (ThereIs().Match(q) is { Success: true } t)
        {
            string body = t.Groups["body"].Value;
            parsed = PositionalBody().Match(body) is { Success: true } pb
                ? new ParsedQuestion(family, QuestionShape.Positional, pb.Groups["noun"].Value.ToLowerInvariant(), pb.Groups["cell"].Value, Array.Empty<ParsedRelation>(), -1)
                : Body(body, family, allowThatIs: false);
        }
        else if (WhatIs().Match(q) is { Success: true } w)
        {
            parsed = Body(w.Groups["body"].Value, family, allowThatIs: true);
        }

        if (parsed is null)
        {
            return null;
        }

        int template = -1;
        for (int i = 0; i < QuestionTemplates.Count(parsed.Shape, parsed.Relations.Count); i++)
        {
            if (string.Equals(QuestionTemplates.Render(parsed, i), q, StringComparison.Ordinal))
            {
                template = i;
                break;
            }
        }

        return parsed with { Template = template };
    }

    private static ParsedQuestion? Body(string body, QuestionFamily family, bool allowThatIs)
    {
        var matches = Relation().Matches(body);
        if (matches.Count == 0)
        {
            return Phrase().IsMatch(body) ? new ParsedQuestion(family, QuestionShape.Attribute, body, null, Array.Empty<ParsedRelation>(), -1) : null;
        }

        string target = body[..matches[0].Index].TrimEnd();
        if (allowThatIs)
        {
            target = ThatIs().Replace(target, string.Empty);
        }

        if (!Phrase().IsMatch(target) || Dangling().IsMatch(target))
        {
            return null;
        }

        var relations = new List<ParsedRelation>();
        for (int i = 0; i < matches.Count; i++)
        {
            int end = i + 1 < matches.Count ? matches[i + 1].Index : body.Length;
            string reference = body[(matches[i].Index + matches[i].Length)..end].TrimEnd();
            if (i + 1 < matches.Count)
            {
                if (!reference.EndsWith(" and", StringComparison.Ordinal))
                {
                    return null;
                }

                reference = reference[..^4].TrimEnd();
            }

            if (!Phrase().IsMatch(reference) || Dangling().IsMatch(reference))
            {
                return null;
            }

            relations.Add(new ParsedRelation(matches[i].Groups["rel"].Value.ToLowerInvariant(), reference));
        }

        return new ParsedQuestion(family, QuestionShape.Relational, target, null, relations, -1);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(SsgGrammar.Positional, RegexOptions.IgnoreCase)]
    private static partial Regex Positional();

    [GeneratedRegex(@"^(?<noun>" + SsgGrammar.Nouns + @") at the (?<cell>[\w-]+) of the (frame|image)$", RegexOptions.IgnoreCase)]
    private static partial Regex PositionalBody();

    [GeneratedRegex(@"^there is an? (?<body>.+?)\s*;\s*what (is it|name is it|is its name)\s*\??$", RegexOptions.IgnoreCase)]
    private static partial Regex ThereIs();

    [GeneratedRegex(@"^what (is the name of|name is|is) the (?<body>.+?)\s*\?$", RegexOptions.IgnoreCase)]
    private static partial Regex WhatIs();

    [GeneratedRegex(@"\b(?<rel>" + SsgGrammar.Relations + @") the ", RegexOptions.IgnoreCase)]
    private static partial Regex Relation();

    [GeneratedRegex(@"\s+that is( both)?$", RegexOptions.IgnoreCase)]
    private static partial Regex ThatIs();

    [GeneratedRegex(@"^[\w-]+( [\w-]+)*$")]
    private static partial Regex Phrase();

    // A phrase ending in a connective is a truncated or malformed question, not an object.
    [GeneratedRegex(@"(^|\s)(and|that|is|both|the|of)$", RegexOptions.IgnoreCase)]
    private static partial Regex Dangling();
}
