using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>
/// Proves a synthetic question from its scene graph: every referring expression denotes exactly one object, exactly
/// one object fits the question and it is an anatomy region, its class is the option marked correct and no other
/// option, and the text falls in the declared family. Records that fail are never written.
/// </summary>
public static class SceneQuestionChecker
{
    /// <summary>Checks a question.</summary>
    /// <param name="scene">The scene.</param>
    /// <param name="spec">The question.</param>
    /// <param name="options">The options.</param>
    /// <param name="correctIndex">The index marked correct.</param>
    /// <param name="problem">Why the question fails, or null.</param>
    /// <returns>True when the question is proven.</returns>
    public static bool Check(SceneGraph scene, QuestionSpec spec, IReadOnlyList<string> options, int correctIndex, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var candidates = spec.Resolve(scene, out problem);
        if (problem is not null)
        {
            return false;
        }

        if (candidates.Count != 1)
        {
            problem = $"{candidates.Count} objects fit the question";
            return false;
        }

        var answer = candidates[0];
        if (answer.Kind != ObjectKind.Anatomy)
        {
            problem = $"the object that fits is the {answer.Class}, not an anatomy region";
            return false;
        }

        if (correctIndex < 0 || correctIndex >= options.Count || options[correctIndex] != answer.Class)
        {
            problem = $"the option marked correct is not '{answer.Class}'";
            return false;
        }

        if (options.Count(o => o == answer.Class) != 1 || options.Distinct().Count() != options.Count)
        {
            problem = "the options are not distinct";
            return false;
        }

        var family = QuestionFamilyClassifier.Classify(spec.Text());
        if (family != spec.Family)
        {
            problem = $"the text reads as {family}, not {spec.Family}";
            return false;
        }

        return true;
    }
}
