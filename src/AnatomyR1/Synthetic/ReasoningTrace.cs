using System.Text;
using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>
/// Writes the templated reasoning trace of a synthetic question from its scene graph: where each reference is, where
/// the target is, and — last, right before the answer — the lookup "the &lt;cell&gt; is &lt;class&gt;, option &lt;L&gt;", so
/// that the answer letter only copies the letter named at the anatomy word.
/// </summary>
public static class ReasoningTrace
{
    /// <summary>Builds the completion <c>&lt;think&gt; … &lt;/think&gt; &lt;answer&gt;L&lt;/answer&gt;</c>.</summary>
    /// <param name="scene">The scene.</param>
    /// <param name="spec">The question (must resolve to its target).</param>
    /// <param name="target">The answer object.</param>
    /// <param name="letter">The correct letter.</param>
    /// <returns>The completion.</returns>
    public static string Build(SceneGraph scene, QuestionSpec spec, SceneObject target, char letter)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(target);
        var steps = new List<string>();
        foreach (var constraint in spec.Constraints)
        {
            var reference = constraint.Reference.Resolve(scene).Single();
            steps.Add($"the {Name(reference)} is at the {reference.Cell.Name}");
        }

        switch (spec.Family)
        {
            case QuestionFamily.Positional:
                break;
            case QuestionFamily.Attribute:
                steps.Add($"the {spec.Target.Phrase()} is at the {target.Cell.Name}");
                break;
            default:
                string relations = string.Join(" and ", spec.Constraints.Select(c => SpatialRelations.PhrasesOf(c.Relation)[0] + " the " + Name(c.Reference.Resolve(scene).Single())));
                steps.Add($"the {spec.Target.Phrase()} {relations} is at the {target.Cell.Name}");
                break;
        }

        steps.Add($"the {target.Cell.Name} is {AnatomyClasses.Words(target.Class)}, option {letter}");
        var text = new StringBuilder("<think> ");
        text.Append(string.Join("; ", steps));
        text.Append(" </think> <answer>").Append(letter).Append("</answer>");
        return text.ToString();
    }

    private static string Name(SceneObject o) => o.Kind == ObjectKind.Anatomy ? AnatomyClasses.Words(o.Class) : o.Class;
}
