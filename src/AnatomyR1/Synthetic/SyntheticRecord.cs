using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>
/// Distractor difficulty tier of a synthetic question: how alike (by <see cref="VisualSimilarity"/>) the four options
/// are. Tiers rank the ten option sets that contain the answer by their mean pairwise similarity, so the set itself
/// does not reveal which member is the answer.
/// </summary>
public enum DistractorTier
{
    /// <summary>One of the three least alike option sets containing the answer.</summary>
    Easy,

    /// <summary>Any of the ten option sets containing the answer (three of the five other classes at random).</summary>
    Mixed,

    /// <summary>One of the three most alike option sets containing the answer.</summary>
    Hard,
}

/// <summary>One generated question with everything needed to write and verify it.</summary>
/// <param name="Index">Record index in generation order.</param>
/// <param name="Scene">The scene it is about.</param>
/// <param name="Spec">The structured question.</param>
/// <param name="Target">The answer object.</param>
/// <param name="Options">The four options.</param>
/// <param name="CorrectIndex">Index of the correct option.</param>
/// <param name="Tier">The distractor tier.</param>
/// <param name="Completion">The reasoning trace and answer.</param>
public sealed record SyntheticRecord(int Index, SceneGraph Scene, QuestionSpec Spec, SceneObject Target, IReadOnlyList<string> Options, int CorrectIndex, DistractorTier Tier, string Completion)
{
    /// <summary>The question text.</summary>
    public string Question => Spec.Text();

    /// <summary>The family.</summary>
    public QuestionFamily Family => Spec.Family;

    /// <summary>The correct letter.</summary>
    public char Letter => (char)('A' + CorrectIndex);

    /// <summary>
    /// Whether the question text alone decides the answer: the target is described by a colour word that only one
    /// option's class carries (e.g. "yellow" with Omentum the only yellow option).
    /// </summary>
    public bool TextShortcut =>
        Spec.Target.Colour is string colour && Options.Count(o => AnatomyAppearance.ByClass[o].ColourWord == colour) == 1;

    /// <summary>S(q) by the intended visual similarity table: mean similarity of the answer to the distractors.</summary>
    public double VisualSimilarityScore => VisualSimilarity.MeanToAnswer(Target.Class, Options.Where((_, i) => i != CorrectIndex));
}
