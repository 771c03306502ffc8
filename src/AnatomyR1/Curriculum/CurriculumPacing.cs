namespace AnatomyR1.Curriculum;

/// <summary>How the curriculum's pool of easiest rows grows from the start fraction c0 to the full data at step T.</summary>
public enum CurriculumPacing
{
    /// <summary>c(t) = c0 + (1 − c0)·p, p = (t − 1)/(T − 1) (default).</summary>
    Linear,

    /// <summary>c(t) = √(c0² + (1 − c0²)·p): grows fast early, slowly later (competence-based curriculum).</summary>
    Root,

    /// <summary>K discrete stages: c(t) = c0 + (1 − c0)·⌊(K − 1)·p⌋/(K − 1).</summary>
    Stages,
}
