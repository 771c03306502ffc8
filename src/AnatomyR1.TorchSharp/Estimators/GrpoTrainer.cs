using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>Options of <see cref="GrpoTrainer"/>. Every field has a documented default.</summary>
public sealed class GrpoTrainerOptions
{
    /// <summary>The GRPO settings (steps, B, G, β, ε, loss type, rewards …).</summary>
    public GrpoOptions Grpo { get; set; } = new();

    /// <summary>Where images come from: the <c>ImagePath</c> column (default) or a pixel vector column.</summary>
    public VlmImageInput ImageInput { get; set; } = VlmImageInput.Paths;

    /// <summary>Start from this saved policy folder; null (default) starts from the built-in warm-started checkpoint.</summary>
    public string? InitialPolicyFolder { get; set; }

    /// <summary>Device: auto (default), cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Folder for <c>metrics.jsonl</c> and checkpoints; null (default) keeps them in memory only.</summary>
    public string? RunFolder { get; set; }

    /// <summary>Resume from this checkpoint folder (<c>checkpoint-N</c>) instead of starting fresh. Default null.</summary>
    public string? ResumeFrom { get; set; }

    /// <summary>
    /// When resuming: names of recorded settings that may differ from the checkpoint's (e.g. <c>learning_rate</c>, or
    /// <c>data</c> for other training data). Every other difference is refused. Default empty.
    /// </summary>
    public IReadOnlyCollection<string> AllowChangedSettings { get; set; } = Array.Empty<string>();

    /// <summary>Receives warnings, such as an allowed setting change when resuming; null (default) sends them to the log.</summary>
    public Action<string>? Warning { get; set; }

    /// <summary>
    /// The Single column holding S(q) (from <c>AnatomicalSimilarity</c>), read into every example, ordering the curriculum
    /// and logged as <c>curriculum/mean_s_q</c>. Default <c>OptionSimilarity</c>. With
    /// <see cref="GrpoOptions.Curriculum"/> set the column must exist; set this to null to have S(q) scored instead with
    /// the starting policy's own token embeddings (through the same <c>AnatomicalSimilarity</c> estimator).
    /// </summary>
    public string? OptionSimilarityColumn { get; set; } = VqaColumns.OptionSimilarity;

    /// <summary>
    /// Prompt sampler; null (default) draws uniformly, or through the curriculum when <see cref="GrpoOptions.Curriculum"/>
    /// is set (the simpler way to turn ASCL on).
    /// </summary>
    public IGrpoPromptSampler? Sampler { get; set; }

    /// <summary>Receives every step's metrics. Default null.</summary>
    public IProgress<GrpoStepMetrics>? Progress { get; set; }

    /// <summary>Stops training between steps (the policy trained so far is returned). Default none.</summary>
    public CancellationToken CancellationToken { get; set; }
}

/// <summary>
/// ML.NET trainer estimator for GRPO of the vision-language policy on multiple-choice questions. It starts from a
/// policy (the built-in warm-started checkpoint unless told otherwise), trains it with <see cref="GrpoSession"/>,
/// and returns a <see cref="VlmTransformer"/> that answers questions. Step metrics also go to ML.NET's log
/// (<c>mlContext.Log</c>, source <c>AnatomyR1.Grpo</c>).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Input column</term><description>Type</description></listheader>
/// <item><term>ImagePath, or a pixel column</term><description>Text (image file), or vector of float from <c>ExtractPixels</c> (see <see cref="VlmImageInput"/>)</description></item>
/// <item><term>Question</term><description>Text</description></item>
/// <item><term>Options</term><description>Vector of text</description></item>
/// <item><term>CorrectIndex</term><description>Integer: the correct option (0-based); rows without options use <c>Answer</c> (text)</description></item>
/// <item><term>AnswerClass (optional)</term><description>Text: per-class metrics (<c>frac_reward_zero_std/&lt;class&gt;</c>)</description></item>
/// <item><term>VariantQuestions, VariantOptions, VariantCorrectIndices (optional)</term><description>GDQA question forms from <c>GroupDiversityAugment</c>; with <see cref="GrpoOptions.Gdqa"/> a prompt's group is spread over them</description></item>
/// <item><term>OptionSimilarity (optional)</term><description>Single: S(q) from <c>AnatomicalSimilarity</c>; orders the curriculum (<see cref="GrpoOptions.Curriculum"/>) and is logged as <c>curriculum/mean_s_q</c>. Without it a curriculum scores S(q) with the starting policy's token embeddings.</description></item>
/// </list>
/// Output columns: <c>Completion</c>, <c>PredictedLetter</c>, <c>PredictedAnswer</c> (text). Save the fitted chain with
/// <see cref="VlmModel.Save"/>.
/// </remarks>
public sealed class GrpoTrainer : IEstimator<VlmTransformer>
{
    private readonly MLContext _mlContext;
    private readonly GrpoTrainerOptions _options;

    /// <summary>Creates the estimator; options are validated here.</summary>
    /// <param name="mlContext">The ML.NET context (for its log).</param>
    /// <param name="options">Options.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public GrpoTrainer(MLContext mlContext, GrpoTrainerOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(options.Grpo, nameof(options.Grpo));
        ArgumentNullException.ThrowIfNull(options.ImageInput, nameof(options.ImageInput));
        options.Grpo.Validate();
    }

    /// <summary>Metrics of every step of the last <see cref="Fit"/>.</summary>
    public IReadOnlyList<GrpoStepMetrics> History { get; private set; } = Array.Empty<GrpoStepMetrics>();

    /// <inheritdoc />
    public VlmTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        IHostEnvironment host = _mlContext;
        using var channel = host.Start("AnatomyR1.Grpo");
        using var session = CreateSession(input, line => channel.Info(MessageSensitivity.None, "{0}", line));
        History = session.Train(_options.CancellationToken);
        return new VlmTransformer(session.ReleasePolicy(), imageInput: _options.ImageInput);
    }

    /// <summary>
    /// Reads the training rows and opens the GRPO session <see cref="Fit"/> runs — from the starting policy, or from
    /// <see cref="GrpoTrainerOptions.ResumeFrom"/> — for callers that drive the steps themselves (live displays,
    /// checkpoints on demand). The session owns its policy; <see cref="GrpoSession.ReleasePolicy"/> hands it over.
    /// </summary>
    /// <param name="input">The training rows (the same columns <see cref="Fit"/> reads).</param>
    /// <param name="log">Receives one line per step and the session's notices; null for none.</param>
    /// <returns>The session (the caller disposes it).</returns>
    /// <exception cref="ArgumentException">A needed column is missing or mistyped; the message names it.</exception>
    public GrpoSession CreateSession(IDataView input, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        VqaRowReader.Validate(input.Schema, _options.ImageInput, needAnswer: true);
        string? scoreColumn = _options.OptionSimilarityColumn;
        if (_options.Grpo.Curriculum is not null && scoreColumn is not null && input.Schema.GetColumnOrNull(scoreColumn)?.Type.RawType != typeof(float))
        {
            throw new ArgumentException($"The curriculum needs S(q) in a Single column '{scoreColumn}': add AnatomicalSimilarity before the trainer (or name its output column in GrpoTrainerOptions.OptionSimilarityColumn), or set OptionSimilarityColumn = null to score S(q) with the starting policy's token embeddings.");
        }

        IVisionLanguagePolicy? policy = null;
        try
        {
            if (_options.ResumeFrom is null)
            {
                policy = PolicyRegistry.LoadOrBuiltIn(_options.InitialPolicyFolder, _options.Device);
            }

            if (scoreColumn is null)
            {
                scoreColumn = VqaColumns.OptionSimilarity + ".StartingPolicy";
                input = StartingPolicyScores(input, policy, scoreColumn);
                log?.Invoke("S(q) was scored with the starting policy's token embeddings (OptionSimilarityColumn = null).");
            }

            var rows = VqaRowReader.Read(input, _options.ImageInput, scoreColumn);
            var examples = rows.Select(r => new GrpoExample(r.Sample, r.Image) { OptionSimilarity = r.OptionSimilarity, Variants = r.Variants, CurriculumStage = scoreColumn == VqaColumns.OptionSimilarity ? r.Stage : null }).ToList();
            if (_options.Grpo.Gdqa is not null && examples.All(e => e.Variants is not { Count: > 1 }))
            {
                log?.Invoke("GDQA is on but no row has question variants; add GroupDiversityAugment before the trainer.");
            }

            var session = _options.ResumeFrom is string checkpoint
                ? GrpoSession.Resume(checkpoint, examples, _options.Grpo, _options.Sampler, _options.RunFolder, _options.Device, _options.AllowChangedSettings, _options.Warning ?? log)
                : GrpoSession.Owning(policy!, examples, _options.Grpo, _options.Sampler, _options.RunFolder);
            policy = null;
            session.Progress = _options.Progress;
            session.Log = log;
            foreach (var (_, reason) in session.SkippedExamples)
            {
                (_options.Warning ?? log)?.Invoke("left out: " + reason);
            }

            log?.Invoke($"GRPO: {examples.Count} prompts, {_options.Grpo.Steps} steps of {_options.Grpo.BatchSize} prompts × {_options.Grpo.NumGenerations} completions, from step {session.Step}.");
            return session;
        }
        catch
        {
            policy?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        VlmOutputSchema.Append(inputSchema, VqaColumns.Question,
            new[] { _options.ImageInput.SourceColumn, VqaColumns.Question, VqaColumns.Options });

    private IDataView StartingPolicyScores(IDataView input, IVisionLanguagePolicy? policy, string column)
    {
        if (policy is not null)
        {
            return Score(new PolicyTokenEmbedder(policy));
        }

        using var start = PolicyRegistry.LoadOrBuiltIn(_options.InitialPolicyFolder, "cpu");
        return Score(new PolicyTokenEmbedder(start));

        IDataView Score(PolicyTokenEmbedder embedder) =>
            new AnatomicalSimilarityEstimator(new AnatomicalSimilarityOptions { Similarity = embedder, OutputColumn = column, StageColumn = column + ".Stage" }).Fit(input).Transform(input);
    }
}
