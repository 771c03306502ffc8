using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>
/// Answers questions with a policy: for every row it generates a completion (greedy by default) from the image and
/// the question with its options, and appends <c>Completion</c>, <c>PredictedLetter</c> and <c>PredictedAnswer</c>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Input column</term><description>Type</description></listheader>
/// <item><term>ImagePath</term><description>Text: image file</description></item>
/// <item><term>Question</term><description>Text</description></item>
/// <item><term>Options</term><description>Vector of text</description></item>
/// </list>
/// <list type="table">
/// <listheader><term>Output column</term><description>Type</description></listheader>
/// <item><term>Completion</term><description>Text: the generated completion</description></item>
/// <item><term>PredictedLetter</term><description>Text: the option letter read from the completion (empty if none)</description></item>
/// <item><term>PredictedAnswer</term><description>Text: that option's text (empty if none)</description></item>
/// </list>
/// Generation runs for all rows when <see cref="Transform"/> is called. The transformer owns the policy; dispose it
/// when done. ML.NET's <c>mlContext.Model.Save</c> cannot carry a third-party transformer's weights (its save context
/// is internal to ML.NET), so use <see cref="VlmModel.Save"/> / <see cref="VlmModel.Load"/> (or
/// <see cref="AnatomyR1Model"/>), which store the ML.NET transforms with <c>mlContext.Model.Save</c> and the policy
/// beside them.
/// </remarks>
public sealed class VlmTransformer : ITransformer, IPersistentComponent, IDisposable
{
    private const string PolicyFolder = "policy";
    private const string SettingsFile = "transformer.json";
    private readonly AnswerExtractor _extractor;

    /// <summary>Creates the transformer.</summary>
    /// <param name="policy">The policy (owned from now on).</param>
    /// <param name="options">Generation settings; default greedy with 80 new tokens.</param>
    /// <param name="strategy">How the letter is read from the completion.</param>
    /// <param name="imageInput">Where images come from; default the <c>ImagePath</c> column.</param>
    public VlmTransformer(IVisionLanguagePolicy policy, GenerationOptions? options = null, AnswerExtractionStrategy strategy = AnswerExtractionStrategy.TagLetter, VlmImageInput? imageInput = null)
    {
        Policy = policy ?? throw new ArgumentNullException(nameof(policy));
        Generation = options ?? new GenerationOptions { Temperature = 0, MaxNewTokens = 80 };
        Strategy = strategy;
        ImageInput = imageInput ?? VlmImageInput.Paths;
        _extractor = new AnswerExtractor(strategy);
    }

    /// <summary>Where images come from.</summary>
    public VlmImageInput ImageInput { get; }

    /// <summary>How the letter is read from the completion.</summary>
    public AnswerExtractionStrategy Strategy { get; }

    /// <summary>The policy.</summary>
    public IVisionLanguagePolicy Policy { get; }

    /// <summary>Generation settings.</summary>
    public GenerationOptions Generation { get; }

    /// <summary>Rows per generation batch. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        VqaRowReader.Validate(inputSchema, ImageInput, needAnswer: false);
        return AppendedTextColumnsDataView.BuildSchema(inputSchema, new[] { VqaColumns.Completion, VqaColumns.PredictedLetter, VqaColumns.PredictedAnswer });
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("VlmTransformer generates in batches over the whole view; it has no row-to-row mapper.");

    /// <inheritdoc />
    public void Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Save a pipeline ending in VlmTransformer with VlmModel.Save(mlContext, model, schema, folder) or AnatomyR1Model.Save; mlContext.Model.Save cannot store the policy's weights.");

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var rows = VqaRowReader.Read(input, ImageInput);
        var completions = BatchedCompletion.Run(Policy, rows.Select(r => (r.Image, Policy.FormatPrompt(r.Sample.Question, r.Sample.Options))).ToList(), Generation, BatchSize);

        var letters = new List<string>(rows.Count);
        var answers = new List<string>(rows.Count);
        for (int r = 0; r < rows.Count; r++)
        {
            var extracted = _extractor.Extract(completions[r], rows[r].Sample.Options);
            letters.Add(extracted.Letter);
            answers.Add(extracted.HasOption ? rows[r].Sample.Options[extracted.Index] : string.Empty);
        }

        return new AppendedTextColumnsDataView(input, new (string, IReadOnlyList<string>)[]
        {
            (VqaColumns.Completion, completions), (VqaColumns.PredictedLetter, letters), (VqaColumns.PredictedAnswer, answers),
        });
    }

    /// <summary>Loads a saved transformer (see <see cref="ComponentStore"/>): the policy and the generation settings.</summary>
    /// <param name="context">The load context (its device is used for the policy).</param>
    /// <returns>The transformer.</returns>
    public static VlmTransformer LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var policy = PolicyRegistry.Load(Path.Combine(context.Folder, PolicyFolder), context.Device);
        try
        {
            return ReadSettings(Path.Combine(context.Folder, SettingsFile), policy);
        }
        catch
        {
            policy.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        Policy.Save(Path.Combine(folder, PolicyFolder));
        var settings = new JsonObject
        {
            ["image_path_column"] = ImageInput.ImagePathColumn,
            ["pixels_column"] = ImageInput.PixelsColumn,
            ["image_column"] = ImageInput.ImageColumn,
            ["pixel_scale"] = ImageInput.PixelScale,
            ["answer_extraction"] = Strategy.ToString(),
            ["max_new_tokens"] = Generation.MaxNewTokens,
            ["batch_size"] = BatchSize,
        };
        File.WriteAllText(Path.Combine(folder, SettingsFile), settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <inheritdoc />
    public void Dispose() => Policy.Dispose();

    private static VlmTransformer ReadSettings(string path, IVisionLanguagePolicy policy)
    {
        if (!File.Exists(path))
        {
            return new VlmTransformer(policy);
        }

        try
        {
            var settings = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            string strategyText = (string?)settings["answer_extraction"] ?? nameof(AnswerExtractionStrategy.TagLetter);
            if (!Enum.TryParse<AnswerExtractionStrategy>(strategyText, out var strategy))
            {
                throw new InvalidDataException($"{path}: field 'answer_extraction' has unknown value '{strategyText}'.");
            }

            var image = new VlmImageInput
            {
                ImagePathColumn = (string?)settings["image_path_column"] ?? Data.VqaColumns.ImagePath,
                PixelsColumn = (string?)settings["pixels_column"],
                ImageColumn = (string?)settings["image_column"],
                PixelScale = (float?)settings["pixel_scale"] ?? 1f / 255f,
            };
            var generation = new GenerationOptions { Temperature = 0, MaxNewTokens = (int?)settings["max_new_tokens"] ?? 80 };
            return new VlmTransformer(policy, generation, strategy, image) { BatchSize = (int?)settings["batch_size"] ?? 64 };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }
}
