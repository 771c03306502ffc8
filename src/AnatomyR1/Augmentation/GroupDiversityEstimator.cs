using AnatomyR1.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Augmentation;

/// <summary>
/// Group Diversity Question Augmentation as an ML.NET estimator: for every difficult row it adds K answer-preserving
/// forms of the question (the original first; see <see cref="QuestionAugmenter"/> for the generators). Fitting learns
/// the S(q) threshold (the τ-quantile of the rows' <c>OptionSimilarity</c>) when difficulty is by similarity.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Input column</term><description>Type</description></listheader>
/// <item><term>Question, ImagePath, SampleId, AnswerClass …</term><description>Text (ImagePath locates a synthetic scene's graph)</description></item>
/// <item><term>Options</term><description>Vector of text</description></item>
/// <item><term>CorrectIndex</term><description>Integer</description></item>
/// <item><term>OptionSimilarity</term><description>Single: S(q), needed for <see cref="DifficultySelection.SimilarityQuantile"/></description></item>
/// </list>
/// Output columns: <see cref="GroupDiversityColumns.VariantQuestions"/>, <see cref="GroupDiversityColumns.VariantOptions"/>,
/// <see cref="GroupDiversityColumns.VariantCorrectIndices"/>, <see cref="GroupDiversityColumns.VariantCorrectLetters"/>,
/// <see cref="GroupDiversityColumns.VariantPrompts"/>, <see cref="GroupDiversityColumns.VariantGenerators"/> (vectors with one entry
/// per form; a row left alone has just its original) and <see cref="GroupDiversityColumns.AugmentationStatus"/> (text).
/// The GRPO trainer spreads a row's G rollouts over its forms.
/// </remarks>
public sealed class GroupDiversityEstimator : IEstimator<GroupDiversityTransformer>
{
    private readonly GroupDiversityOptions _options;

    /// <summary>Creates the estimator; options are validated here.</summary>
    /// <param name="options">The options (copied).</param>
    public GroupDiversityEstimator(GroupDiversityOptions? options = null)
    {
        _options = (options ?? new GroupDiversityOptions()).Clone();
        _options.Validate();
    }

    /// <inheritdoc />
    public GroupDiversityTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        float threshold = float.NegativeInfinity;
        if (_options.Difficulty == DifficultySelection.SimilarityQuantile)
        {
            var reader = new SampleRowReader(input.Schema, _options.SimilarityColumn, requireScore: true);
            var scores = new List<float>();
            using var cursor = input.GetRowCursor(reader.ActiveColumns);
            var row = reader.Bind(cursor);
            while (cursor.MoveNext())
            {
                if (row().Score is var s && float.IsFinite(s))
                {
                    scores.Add(s);
                }
            }

            if (scores.Count == 0)
            {
                throw new ArgumentException($"No row has a finite '{_options.SimilarityColumn}'; GDQA by S(q) quantile needs S(q) (use AnatomicalSimilarity first, or Difficulty = All).", nameof(input));
            }

            scores.Sort();
            threshold = Curriculum.Quantiles.Linear(scores, _options.Quantile);
        }
        else
        {
            _ = new SampleRowReader(input.Schema);
        }

        return new GroupDiversityTransformer(_options, threshold);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (string required in new[] { VqaColumns.Question, VqaColumns.Options, VqaColumns.CorrectIndex })
        {
            if (!inputSchema.Any(c => c.Name == required))
            {
                throw new ArgumentException($"The input has no '{required}' column.", nameof(inputSchema));
            }
        }

        return SchemaShapes.Append<Added>(inputSchema);
    }

    private sealed class Added
    {
        public string[] VariantQuestions { get; set; } = Array.Empty<string>();

        public string[] VariantOptions { get; set; } = Array.Empty<string>();

        public int[] VariantCorrectIndices { get; set; } = Array.Empty<int>();

        public string[] VariantCorrectLetters { get; set; } = Array.Empty<string>();

        public string[] VariantPrompts { get; set; } = Array.Empty<string>();

        public string[] VariantGenerators { get; set; } = Array.Empty<string>();

        public string AugmentationStatus { get; set; } = string.Empty;
    }
}
