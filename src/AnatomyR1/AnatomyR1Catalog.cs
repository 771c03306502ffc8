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
