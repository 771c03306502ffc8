using AnatomyR1.Data;

namespace AnatomyR1.Augmentation;

/// <summary>Which rows GDQA augments.</summary>
public enum DifficultySelection
{
    /// <summary>Rows whose S(q) (<c>OptionSimilarity</c>) is at or above the fitted quantile τ (default).</summary>
    SimilarityQuantile,

    /// <summary>Every multiple-choice row (use with the trainer's adaptive mode, which picks the rows at training time).</summary>
    All,

    /// <summary>Rows a user predicate selects (<see cref="GroupDiversityOptions.Predicate"/>); such a pipeline cannot be saved.</summary>
    Predicate,
}

/// <summary>Options of Group Diversity Question Augmentation (<see cref="QuestionAugmenter"/>, <see cref="GroupDiversityEstimator"/>). Every field has a documented default.</summary>
public sealed class GroupDiversityOptions
{
    /// <summary>K: question forms per augmented row, the original included (so K − 1 new variants). Default 4.</summary>
    public int VariantCount { get; set; } = 4;

    /// <summary>Which rows are augmented. Default <see cref="DifficultySelection.SimilarityQuantile"/>.</summary>
    public DifficultySelection Difficulty { get; set; } = DifficultySelection.SimilarityQuantile;

    /// <summary>τ: rows with S(q) at or above this quantile of the fitted rows' S(q) are difficult. Default 0.5.</summary>
    public double Quantile { get; set; } = 0.5;

    /// <summary>The row selector for <see cref="DifficultySelection.Predicate"/>. Default null.</summary>
    public Func<VqaSample, bool>? Predicate { get; set; }

    /// <summary>
    /// On synthetic scenes, refer to the same target through other expressions (its cell, its colour, another
    /// relation, the "There is a …" form), each proven on the scene graph. Used first, as these are the variants that
    /// change what the model must perceive. Default true.
    /// </summary>
    public bool SceneGraphReferences { get; set; } = true;

    /// <summary>Render parsed questions with the other templates of their shape. Default true.</summary>
    public bool Rephrase { get; set; } = true;

    /// <summary>Swap equivalent wordings of a relation ("left of" ↔ "to the left of" ↔ "on the left side of"). Default true.</summary>
    public bool RelationSynonyms { get; set; } = true;

    /// <summary>Give each new variant its own option order (the correct letter remapped), and fill missing variants with reordered options. Default true.</summary>
    public bool PermuteOptions { get; set; } = true;

    /// <summary>Seed; each row's variants derive from it and the row's id and question, not from row order. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Input column holding S(q) for <see cref="DifficultySelection.SimilarityQuantile"/>. Default <c>OptionSimilarity</c>.</summary>
    public string SimilarityColumn { get; set; } = VqaColumns.OptionSimilarity;

    /// <summary>
    /// Your own generators of answer-preserving question texts, used after the enabled built-ins (which are
    /// <see cref="SceneGraphReferenceRewriter"/>, <see cref="TemplateRephraseRewriter"/> and <see cref="RelationSynonymRewriter"/>,
    /// switched by <see cref="SceneGraphReferences"/>, <see cref="Rephrase"/> and <see cref="RelationSynonyms"/>). A fitted
    /// transformer saves them by type name: give them a public parameterless constructor. Default empty.
    /// </summary>
    public IList<IQuestionRewriter> Rewriters { get; set; } = new List<IQuestionRewriter>();

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public void Validate()
    {
        static void Check(bool ok, string name, object? value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException($"GDQA option {name} = {value} is invalid: {rule}.", name);
            }
        }

        Check(VariantCount is >= 2 and <= 64, nameof(VariantCount), VariantCount, "between 2 (the original and one variant) and 64");
        Check(Enum.IsDefined(Difficulty), nameof(Difficulty), Difficulty, "not a defined selection");
        Check(Quantile is >= 0 and <= 1, nameof(Quantile), Quantile, "in [0, 1]");
        Check(Difficulty != DifficultySelection.Predicate || Predicate is not null, nameof(Predicate), "null", "Difficulty = Predicate needs a predicate");
        Check(Rewriters is not null && Rewriters.All(r => r is not null), nameof(Rewriters), "null", "must be a list without null entries");
        Check(SceneGraphReferences || Rephrase || RelationSynonyms || PermuteOptions || Rewriters!.Count > 0, nameof(PermuteOptions), PermuteOptions, "at least one generator must be on");
        Check(!string.IsNullOrWhiteSpace(SimilarityColumn), nameof(SimilarityColumn), SimilarityColumn, "must name a column");
    }

    /// <summary>A copy (the rewriter list is copied; the rewriters themselves are shared).</summary>
    /// <returns>The copy.</returns>
    public GroupDiversityOptions Clone()
    {
        var copy = (GroupDiversityOptions)MemberwiseClone();
        copy.Rewriters = Rewriters?.ToList()!;
        return copy;
    }
}
