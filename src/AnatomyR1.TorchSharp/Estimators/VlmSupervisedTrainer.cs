using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>Options of <see cref="VlmSupervisedTrainer"/>. Every field has a documented default.</summary>
public sealed class VlmSupervisedTrainerOptions
{
    /// <summary>Text column with the image file. Default <c>ImagePath</c>.</summary>
    public string ImagePathColumn { get; set; } = VqaColumns.ImagePath;

    /// <summary>Text column with the question. Default <c>Question</c>.</summary>
    public string QuestionColumn { get; set; } = VqaColumns.Question;

    /// <summary>Text-vector column with the options. Default <c>Options</c>.</summary>
    public string OptionsColumn { get; set; } = VqaColumns.Options;

    /// <summary>Text column with the completion to learn; rows where it is empty are skipped. Default <c>TargetCompletion</c>.</summary>
    public string TargetCompletionColumn { get; set; } = VqaColumns.TargetCompletion;

    /// <summary>Optimisation settings (steps, batch size, learning rates, schedule, seed).</summary>
    public SupervisedOptions Training { get; set; } = new();

    /// <summary>Architecture preset for a new policy, from any registered family (<see cref="PolicyRegistry.Presets"/>): <c>tiny</c> (default) or <c>small</c> for the built-in family.</summary>
    public string Preset { get; set; } = "tiny";

    /// <summary>Start from this saved policy folder instead of a new one. Default null.</summary>
    public string? InitialPolicyFolder { get; set; }

    /// <summary>Device: auto (default), cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Seed of a new policy's weights. Default 0.</summary>
    public long InitializationSeed { get; set; }

    /// <summary>Receives training progress. Default null.</summary>
    public IProgress<SupervisedProgress>? Progress { get; set; }
}

/// <summary>
/// ML.NET trainer estimator for the supervised warm start of the small vision-language policy: it trains on rows
/// with an image, a question with options and a target completion (loss on the completion tokens only) and returns
/// a <see cref="VlmTransformer"/> that answers questions.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Input column</term><description>Type</description></listheader>
/// <item><term>ImagePath</term><description>Text</description></item>
/// <item><term>Question</term><description>Text</description></item>
/// <item><term>Options</term><description>Vector of text</description></item>
/// <item><term>TargetCompletion</term><description>Text (for example the synthetic reasoning traces)</description></item>
/// </list>
/// Output columns: see <see cref="VlmTransformer"/>.
/// </remarks>
public sealed class VlmSupervisedTrainer : IEstimator<VlmTransformer>
{
    private readonly VlmSupervisedTrainerOptions _options;

    /// <summary>Creates the estimator.</summary>
    /// <param name="options">Options.</param>
    public VlmSupervisedTrainer(VlmSupervisedTrainerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Training.Validate();
    }

    /// <inheritdoc />
    public VlmTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var examples = ReadExamples(input);
        if (examples.Count == 0)
        {
            throw new InvalidOperationException($"No row has a non-empty '{_options.TargetCompletionColumn}' to learn from.");
        }

        var policy = _options.InitialPolicyFolder is string folder
            ? PolicyRegistry.Load(folder, _options.Device)
            : PolicyRegistry.Create(_options.Preset, _options.Device, _options.InitializationSeed);
        try
        {
            SupervisedTrainer.Train(policy, examples, _options.Training, _options.Progress);
            return new VlmTransformer(policy);
        }
        catch
        {
            policy.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        VlmOutputSchema.Append(inputSchema, _options.QuestionColumn,
            new[] { _options.ImagePathColumn, _options.QuestionColumn, _options.OptionsColumn, _options.TargetCompletionColumn });

    private List<SupervisedExample> ReadExamples(IDataView input)
    {
        var schema = input.Schema;
        DataViewSchema.Column Column(string name) => schema.GetColumnOrNull(name) ?? throw new ArgumentException($"The input has no '{name}' column.");
        var image = Column(_options.ImagePathColumn);
        var question = Column(_options.QuestionColumn);
        var options = Column(_options.OptionsColumn);
        var target = Column(_options.TargetCompletionColumn);
        var examples = new List<SupervisedExample>();
        using var cursor = input.GetRowCursor(new[] { image, question, options, target });
        var getImage = cursor.GetGetter<ReadOnlyMemory<char>>(image);
        var getQuestion = cursor.GetGetter<ReadOnlyMemory<char>>(question);
        var getOptions = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(options);
        var getTarget = cursor.GetGetter<ReadOnlyMemory<char>>(target);
        ReadOnlyMemory<char> i = default, q = default, t = default;
        VBuffer<ReadOnlyMemory<char>> o = default;
        while (cursor.MoveNext())
        {
            getTarget(ref t);
            if (t.IsEmpty)
            {
                continue;
            }

            getImage(ref i);
            getQuestion(ref q);
            getOptions(ref o);
            examples.Add(new SupervisedExample(i.ToString(), q.ToString(), o.DenseValues().Select(v => v.ToString()).ToArray(), t.ToString()));
        }

        return examples;
    }
}
