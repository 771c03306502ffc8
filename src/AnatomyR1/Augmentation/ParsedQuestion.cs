using AnatomyR1.Data;

namespace AnatomyR1.Augmentation;

/// <summary>One relation of a parsed question: its wording (e.g. <c>to the left of</c>) and the reference phrase after "the".</summary>
/// <param name="Phrase">The relation words as written, lower case.</param>
/// <param name="Reference">The reference object's phrase without its article (e.g. <c>silver grasper instrument</c>).</param>
public sealed record ParsedRelation(string Phrase, string Reference)
{
    /// <summary>E.g. <c>to the left of the silver grasper instrument</c>.</summary>
    /// <returns>The words.</returns>
    public string Words() => Phrase + " the " + Reference;
}

/// <summary>
/// The structure of an SSG-VQA-style question, as far as rephrasing needs it: the shape (positional, attribute or
/// relational), the target phrase and the relations. Rendering it with another template of the same shape asks the
/// same question (see <see cref="QuestionTemplates"/>).
/// </summary>
/// <param name="Family">The family the original text falls in.</param>
/// <param name="Shape">Positional, attribute or relational.</param>
/// <param name="Target">The target phrase without its article (e.g. <c>red top-mid anatomy</c>); for positional questions the noun (<c>anatomy</c>).</param>
/// <param name="Cell">The cell of a positional question (e.g. <c>top-left</c>); null otherwise.</param>
/// <param name="Relations">The relations of a relational question, in order.</param>
/// <param name="Template">Index of the template in <see cref="QuestionTemplates"/> that reproduces the original text.</param>
public sealed record ParsedQuestion(QuestionFamily Family, QuestionShape Shape, string Target, string? Cell, IReadOnlyList<ParsedRelation> Relations, int Template);

/// <summary>The shapes of SSG-VQA questions that the rephraser handles.</summary>
public enum QuestionShape
{
    /// <summary>"What anatomy is at the top-left of the frame ?"</summary>
    Positional,

    /// <summary>"What is the red top-mid anatomy?"</summary>
    Attribute,

    /// <summary>One or more relations: "What is the name of the anatomy above the grasper?"</summary>
    Relational,
}
