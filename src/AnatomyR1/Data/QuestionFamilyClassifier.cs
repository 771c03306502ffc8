using System.Text.RegularExpressions;

namespace AnatomyR1.Data;

/// <summary>
/// Assigns a <see cref="QuestionFamily"/> to SSG-VQA-style question text. Relations are counted as the phrases of
/// <see cref="SsgGrammar.Relations"/>, the grammar the GDQA parser shares.
/// </summary>
public static partial class QuestionFamilyClassifier
{
    /// <summary>Classifies one question.</summary>
    /// <param name="question">The question text.</param>
    /// <returns>Its family; <see cref="QuestionFamily.Other"/> when no template matches.</returns>
    public static QuestionFamily Classify(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        string q = question.Trim();
        if (Rephrased().IsMatch(q))
        {
            return QuestionFamily.Rephrased;
        }

        if (Positional().IsMatch(q))
        {
            return QuestionFamily.Positional;
        }

        if (Count().IsMatch(q))
        {
            return QuestionFamily.Count;
        }

        if (Existence().IsMatch(q))
        {
            return QuestionFamily.Existence;
        }

        int relations = Relation().Count(q);
        if (relations >= 2)
        {
            return QuestionFamily.TwoHop;
        }

        if (relations == 1)
        {
            return QuestionFamily.OneHop;
        }

        return AttributeQuery().IsMatch(q) ? QuestionFamily.Attribute : QuestionFamily.Other;
    }

    /// <summary>Counts the relation phrases in a question.</summary>
    /// <param name="question">The question text.</param>
    /// <returns>The number of relation phrases.</returns>
    public static int CountRelations(string question) => Relation().Count(question);

    [GeneratedRegex(@"^there (is|are) an? .+;\s*what (is it|name is it|is its name)\s*\??$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Rephrased();

    [GeneratedRegex(SsgGrammar.Positional, RegexOptions.IgnoreCase)]
    private static partial Regex Positional();

    [GeneratedRegex(@"^how many\b", RegexOptions.IgnoreCase)]
    private static partial Regex Count();

    [GeneratedRegex(@"^(is|are) there\b", RegexOptions.IgnoreCase)]
    private static partial Regex Existence();

    [GeneratedRegex(@"\b(" + SsgGrammar.Relations + @")\b", RegexOptions.IgnoreCase)]
    private static partial Regex Relation();

    [GeneratedRegex(@"^what (is|name is) (the name of )?(the|a|an) .*\b(anatomy|thing|object|instrument|tool)\s*\?$", RegexOptions.IgnoreCase)]
    private static partial Regex AttributeQuery();
}
