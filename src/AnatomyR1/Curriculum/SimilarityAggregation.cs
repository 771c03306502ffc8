namespace AnatomyR1.Curriculum;

/// <summary>How option-pair similarities are combined into S(q).</summary>
public enum SimilarityAggregation
{
    /// <summary>Mean over distractors d of sim(answer, d) (the project's definition; default).</summary>
    MeanToAnswer,

    /// <summary>Max over distractors d of sim(answer, d): the single most confusable distractor.</summary>
    MaxToAnswer,

    /// <summary>Mean of sim over all unordered option pairs (needs no answer).</summary>
    MeanAllPairs,
}
