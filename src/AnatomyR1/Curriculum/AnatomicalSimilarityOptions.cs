using AnatomyR1.Data;

namespace AnatomyR1.Curriculum;

/// <summary>Options of <see cref="AnatomicalSimilarityEstimator"/>. Every field has a documented default.</summary>
public sealed class AnatomicalSimilarityOptions
{
    /// <summary>Input column: the option texts (vector of text). Default <c>Options</c>.</summary>
    public string OptionsColumn { get; set; } = VqaColumns.Options;

    /// <summary>Input column: the 0-based index of the correct option (any number type). Default <c>CorrectIndex</c>.</summary>
    public string CorrectIndexColumn { get; set; } = VqaColumns.CorrectIndex;

    /// <summary>Output column: S(q) (Single). Default <c>OptionSimilarity</c>.</summary>
    public string OutputColumn { get; set; } = VqaColumns.OptionSimilarity;

    /// <summary>Output column: the curriculum stage (Int32, 0 = easiest). Default <c>CurriculumStage</c>.</summary>
    public string StageColumn { get; set; } = VqaColumns.CurriculumStage;

    /// <summary>
    /// The option-pair similarity. Default null: a <see cref="CharNGramEmbedder"/> with its defaults (no model
    /// needed). With a policy at hand, <c>AnatomyR1.TorchSharp</c>'s catalog overload uses the policy's own token
    /// embeddings instead.
    /// </summary>
    public IOptionSimilarity? Similarity { get; set; }

    /// <summary>How pair similarities become S(q). Default <see cref="SimilarityAggregation.MeanToAnswer"/>.</summary>
    public SimilarityAggregation Aggregation { get; set; } = SimilarityAggregation.MeanToAnswer;

    /// <summary>
    /// Number of curriculum stages K (at least 1). Fitting learns the K − 1 quantiles of S(q) that bound them; stage k
    /// holds the rows between the k/K and (k+1)/K quantiles. Default 3.
    /// </summary>
    public int StageCount { get; set; } = 3;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(OptionsColumn), OptionsColumn), (nameof(CorrectIndexColumn), CorrectIndexColumn), (nameof(OutputColumn), OutputColumn), (nameof(StageColumn), StageColumn) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"Similarity option {name} must name a column.", name);
            }
        }

        if (OutputColumn == StageColumn)
        {
            throw new ArgumentException($"Similarity options OutputColumn and StageColumn are both '{OutputColumn}'; they must differ.", nameof(StageColumn));
        }

        if (StageCount is < 1 or > 100)
        {
            throw new ArgumentException($"Similarity option StageCount = {StageCount} is invalid: between 1 and 100.", nameof(StageCount));
        }

        if (!Enum.IsDefined(Aggregation))
        {
            throw new ArgumentException($"Similarity option Aggregation = {Aggregation} is not defined.", nameof(Aggregation));
        }
    }

    /// <summary>A shallow copy (the similarity measure is shared).</summary>
    /// <returns>The copy.</returns>
    public AnatomicalSimilarityOptions Clone() => (AnatomicalSimilarityOptions)MemberwiseClone();
}
