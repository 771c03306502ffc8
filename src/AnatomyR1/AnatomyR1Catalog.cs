using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.Evaluation;
using AnatomyR1.Prompts;
using Microsoft.ML;

namespace AnatomyR1;

/// <summary>
/// Entry point for AnatomyR1 operations on an <see cref="MLContext"/>: <c>mlContext.AnatomyR1()</c>.
/// </summary>
public sealed class AnatomyR1Catalog
{
    internal AnatomyR1Catalog(MLContext context)
    {
        Context = context;
    }

    /// <summary>The ML.NET context.</summary>
    public MLContext Context { get; }

    /// <summary>Evaluates predictions (see <see cref="VqaEvaluator"/> for the columns read).</summary>
    /// <param name="predictions">Rows with the question columns and a prediction column.</param>
    /// <param name="strategy">How answers are read from a <c>Completion</c> column.</param>
    /// <returns>The metrics.</returns>
    public VqaEvaluationResult Evaluate(IDataView predictions, AnswerExtractionStrategy strategy = AnswerExtractionStrategy.OptionText) =>
        new VqaEvaluator(new VqaEvaluatorOptions { Strategy = strategy }).Evaluate(predictions);

    /// <summary>Evaluates predictions with full options.</summary>
    /// <param name="predictions">Rows with the question columns and a prediction column.</param>
    /// <param name="options">Evaluator options.</param>
    /// <returns>The metrics.</returns>
    public VqaEvaluationResult Evaluate(IDataView predictions, VqaEvaluatorOptions options) =>
        new VqaEvaluator(options).Evaluate(predictions);

    /// <summary>
    /// Scores S(q), the similarity of each question's distractors to its answer, and its curriculum stage (see
    /// <see cref="AnatomicalSimilarityEstimator"/>): adds <c>OptionSimilarity</c> (Single) and <c>CurriculumStage</c>
    /// (Int32).
    /// </summary>
    /// <param name="similarity">The option-pair similarity; null uses a <see cref="CharNGramEmbedder"/>.</param>
    /// <param name="aggregation">How pairs are combined into S(q).</param>
    /// <param name="stageCount">Curriculum stages K, bounded by the S(q) quantiles of the fitted data.</param>
    /// <returns>The estimator.</returns>
    public AnatomicalSimilarityEstimator AnatomicalSimilarity(IOptionSimilarity? similarity = null, SimilarityAggregation aggregation = SimilarityAggregation.MeanToAnswer, int stageCount = 3) =>
        new(new AnatomicalSimilarityOptions { Similarity = similarity, Aggregation = aggregation, StageCount = stageCount });

    /// <summary>Scores S(q) and the curriculum stage with full options (columns, measure, aggregation, stages).</summary>
    /// <param name="options">The options.</param>
    /// <returns>The estimator.</returns>
    public AnatomicalSimilarityEstimator AnatomicalSimilarity(AnatomicalSimilarityOptions options) => new(options);

    /// <summary>
    /// Group Diversity Question Augmentation (see <see cref="GroupDiversityEstimator"/>): adds K answer-preserving
    /// forms of every difficult question (the original first) for the GRPO trainer to spread its rollouts over.
    /// </summary>
    /// <param name="variantCount">K, the original included.</param>
    /// <param name="difficulty">Which rows are augmented.</param>
    /// <param name="quantile">τ for <see cref="DifficultySelection.SimilarityQuantile"/>: rows with S(q) at or above this quantile.</param>
    /// <param name="seed">Seed of the variants.</param>
    /// <returns>The estimator.</returns>
    public GroupDiversityEstimator GroupDiversityAugment(int variantCount = 4, DifficultySelection difficulty = DifficultySelection.SimilarityQuantile, double quantile = 0.5, int seed = 0) =>
        new(new GroupDiversityOptions { VariantCount = variantCount, Difficulty = difficulty, Quantile = quantile, Seed = seed });

    /// <summary>Group Diversity Question Augmentation with full options (generators, selection, columns).</summary>
    /// <param name="options">The options.</param>
    /// <returns>The estimator.</returns>
    public GroupDiversityEstimator GroupDiversityAugment(GroupDiversityOptions options) => new(options);
}

/// <summary><see cref="MLContext"/> extension giving access to <see cref="AnatomyR1Catalog"/>.</summary>
public static class AnatomyR1MLContextExtensions
{
    /// <summary>The AnatomyR1 catalog of this context.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <returns>The catalog.</returns>
    public static AnatomyR1Catalog AnatomyR1(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new AnatomyR1Catalog(mlContext);
    }
}
