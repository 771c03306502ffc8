namespace AnatomyR1.Data;

/// <summary>
/// The SSG-VQA question grammar's shared vocabulary: the relation phrases and the positional question form. Both the
/// family classifier (<see cref="QuestionFamilyClassifier"/>) and the GDQA parser (<c>SsgQuestionParser</c>) build
/// their patterns from these constants, so the two cannot drift apart.
/// </summary>
public static class SsgGrammar
{
    /// <summary>
    /// The relation phrases as a regular-expression alternation, longest first: "to the left of", "to the right of",
    /// "on the left side of", "on the right side of", "left of", "right of", "above", "below", "within", and SSG-VQA's
    /// "vertical" and "horizontal".
    /// </summary>
    public const string Relations = "to the left of|to the right of|on the left side of|on the right side of|left of|right of|above|below|within|vertical|horizontal";

    /// <summary>The nouns a question may ask for.</summary>
    public const string Nouns = "anatomy|thing|object|instrument";

    /// <summary>
    /// The positional form "What &lt;noun&gt; is at/in the &lt;cell&gt; of the frame/image?" with named groups <c>noun</c> and
    /// <c>cell</c>. The cell is matched loosely: the published records include "at the None of the frame".
    /// </summary>
    public const string Positional = @"^what (?<noun>" + Nouns + @") is (at|in) the (?<cell>[\w-]+) of the (frame|image)\s*\?$";
}
