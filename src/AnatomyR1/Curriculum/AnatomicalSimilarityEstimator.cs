using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Scores every question's S(q), the similarity of its distractors to its answer (low = easy, high = hard), and
/// assigns it a curriculum stage. Fitting scores the training rows and learns the S(q) quantiles that bound the
/// stages; the <see cref="AnatomicalSimilarityTransformer"/> it returns scores any rows with those bounds.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Input column</term><description>Type</description></listheader>
/// <item><term>Options</term><description>Vector of text</description></item>
/// <item><term>CorrectIndex</term><description>Integer (Int32, Int64, Single or Double): the correct option, −1 for open questions</description></item>
/// </list>
/// <list type="table">
/// <listheader><term>Output column</term><description>Type</description></listheader>
/// <item><term>OptionSimilarity</term><description>Single: S(q); NaN when undefined (open question, fewer than 2 options)</description></item>
/// <item><term>CurriculumStage</term><description>Int32: 0 … K − 1 from easy to hard; −1 when S(q) is undefined</description></item>
/// </list>
/// A correct index outside the options, or an option the similarity measure cannot score, is an error naming the
/// row (and its <c>SampleId</c> when the view has one). Save the fitted pipeline with
/// <see cref="Persistence.AnatomyR1Model.Save"/>.
/// </remarks>
public sealed class AnatomicalSimilarityEstimator : IEstimator<AnatomicalSimilarityTransformer>
{
    private readonly AnatomicalSimilarityOptions _options;

    /// <summary>Creates the estimator; options are validated here.</summary>
    /// <param name="options">The options (copied).</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public AnatomicalSimilarityEstimator(AnatomicalSimilarityOptions? options = null)
    {
        _options = (options ?? new AnatomicalSimilarityOptions()).Clone();
        _options.Validate();
        _options.Similarity ??= new CharNGramEmbedder();
    }

    /// <summary>The similarity measure in use.</summary>
    public IOptionSimilarity Similarity => _options.Similarity!;

    /// <inheritdoc />
    public AnatomicalSimilarityTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return FitScores(Score(input, _options));
    }

    /// <summary>Fits on S(q) values already computed with this estimator's measure and aggregation (NaN where undefined).</summary>
    /// <param name="scores">S(q) of every training row.</param>
    /// <returns>The transformer with the stage bounds of these scores.</returns>
    /// <exception cref="ArgumentException">No score is finite.</exception>
    public AnatomicalSimilarityTransformer FitScores(IReadOnlyList<float> scores)
    {
        var finite = scores.Where(float.IsFinite).ToArray();
        if (finite.Length == 0)
        {
            throw new ArgumentException($"No row of the input has a defined S(q) ({scores.Count} rows; S(q) needs at least 2 options and a correct index in '{_options.CorrectIndexColumn}').", "input");
        }

        Array.Sort(finite);
        var bounds = new float[_options.StageCount - 1];
        for (int k = 1; k < _options.StageCount; k++)
        {
            bounds[k - 1] = Quantiles.Linear(finite, (double)k / _options.StageCount);
        }

        return new AnatomicalSimilarityTransformer(_options, bounds, scores.Count, scores.Count - finite.Length);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var options = inputSchema.FirstOrDefault(c => c.Name == _options.OptionsColumn);
        if (options.Name is null || options.Kind == SchemaShape.Column.VectorKind.Scalar || options.ItemType is not TextDataViewType)
        {
            throw new ArgumentException($"The input needs a '{_options.OptionsColumn}' column of type vector of text.", nameof(inputSchema));
        }

        var correct = inputSchema.FirstOrDefault(c => c.Name == _options.CorrectIndexColumn);
        if (correct.Name is null || correct.Kind != SchemaShape.Column.VectorKind.Scalar || correct.ItemType is not NumberDataViewType)
        {
            throw new ArgumentException($"The input needs a numeric '{_options.CorrectIndexColumn}' column.", nameof(inputSchema));
        }

        return SimilarityColumns.AppendTo(inputSchema, _options.OutputColumn, _options.StageColumn);
    }

    /// <summary>S(q) of every row of a view, in cursor order (NaN where undefined).</summary>
    /// <param name="input">The rows.</param>
    /// <param name="options">Columns, measure and aggregation.</param>
    /// <returns>The scores.</returns>
    internal static List<float> Score(IDataView input, AnatomicalSimilarityOptions options)
    {
        var reader = new SimilarityRowReader(input.Schema, options.OptionsColumn, options.CorrectIndexColumn);
        var scores = new List<float>();
        using var cursor = input.GetRowCursor(reader.ActiveColumns);
        var row = reader.Bind(cursor);
        var measure = options.Similarity ?? new CharNGramEmbedder();
        while (cursor.MoveNext())
        {
            scores.Add(row.Score(measure, options.Aggregation));
        }

        return scores;
    }
}
