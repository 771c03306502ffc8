namespace AnatomyR1.Augmentation;

/// <summary>
/// The sentence templates of each question shape. Every template of a shape asks the same question about the same
/// target with the same relations, so rendering a parsed question with another template preserves the answer by
/// construction. The templates are the SSG-VQA forms and the rule-based rephrasings published with Anatomy-R1
/// ("There is a … ; what is it?" / "… ; what name is it?" / "… ; what is its name?").
/// </summary>
public static class QuestionTemplates
{
    /// <summary>Number of templates of a shape (relational questions with two or more relations add the two "… that is both …" forms).</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="relations">Relations in the question.</param>
    /// <returns>The count.</returns>
    public static int Count(QuestionShape shape, int relations) => shape switch
    {
        QuestionShape.Positional => 5,
        QuestionShape.Attribute => 6,
        _ => relations >= 2 ? 9 : 7,
    };

    /// <summary>Renders a parsed question with template <paramref name="template"/>.</summary>
    /// <param name="q">The parsed question.</param>
    /// <param name="template">0 … <see cref="Count"/> − 1.</param>
    /// <returns>The question text.</returns>
    public static string Render(ParsedQuestion q, int template)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegative(template);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(template, Count(q.Shape, q.Relations.Count));
        string a = Article(q.Target);
        switch (q.Shape)
        {
            case QuestionShape.Positional:
                return template switch
                {
                    0 => $"What {q.Target} is at the {q.Cell} of the frame ?",
                    1 => $"What {q.Target} is in the {q.Cell} of the image ?",
                    2 => $"There is {a} {q.Target} at the {q.Cell} of the frame; what is it?",
                    3 => $"There is {a} {q.Target} at the {q.Cell} of the frame; what name is it?",
                    _ => $"There is {a} {q.Target} at the {q.Cell} of the frame; what is its name?",
                };
            case QuestionShape.Attribute:
                return template switch
                {
                    0 => $"What is the {q.Target}?",
                    1 => $"What is the name of the {q.Target}?",
                    2 => $"What name is the {q.Target}?",
                    3 => $"There is {a} {q.Target}; what is it?",
                    4 => $"There is {a} {q.Target}; what name is it?",
                    _ => $"There is {a} {q.Target}; what is its name?",
                };
            default:
                string relations = string.Join(" and ", q.Relations.Select(r => r.Words()));
                return template switch
                {
                    0 => $"What is the name of the {q.Target} {relations}?",
                    1 => $"What is the name of the {q.Target} that is {relations}?",
                    2 => $"What name is the {q.Target} that is {relations}?",
                    3 => $"There is {a} {q.Target} {relations}; what is it?",
                    4 => $"There is {a} {q.Target} {relations}; what name is it?",
                    5 => $"There is {a} {q.Target} {relations}; what is its name?",
                    6 => $"What name is the {q.Target} {relations}?",
                    7 => $"What is the name of the {q.Target} that is both {relations}?",
                    _ => $"What name is the {q.Target} that is both {relations}?",
                };
        }
    }

    private static string Article(string phrase) => phrase.Length > 0 && "aeiou".Contains(char.ToLowerInvariant(phrase[0]), StringComparison.Ordinal) ? "an" : "a";
}
