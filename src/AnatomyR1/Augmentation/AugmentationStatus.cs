namespace AnatomyR1.Augmentation;

/// <summary>What the augmenter did with a row.</summary>
public enum AugmentationStatus
{
    /// <summary>Variants were added.</summary>
    Augmented,

    /// <summary>The row is not difficult enough (below the S(q) threshold, or the predicate said no): left as is.</summary>
    NotDifficult,

    /// <summary>The question is not one of the parsed forms and no scene graph covers it: left as is, never guessed.</summary>
    Unparsed,

    /// <summary>The question parsed but no generator produced a new form (e.g. every generator switched off).</summary>
    NoVariants,

    /// <summary>Not a multiple-choice row (no options or no correct index).</summary>
    NotMultipleChoice,
}
