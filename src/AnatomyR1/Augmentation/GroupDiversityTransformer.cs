using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Prompts;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Augmentation;

/// <summary>
/// Adds the GDQA question forms of every difficult row, lazily as the view is read (see
/// <see cref="GroupDiversityEstimator"/> for the columns). Save pipelines that hold it with
/// <see cref="AnatomyR1Model.Save"/>; a predicate-based selection cannot be saved.
/// </summary>
public sealed class GroupDiversityTransformer : ITransformer, IPersistentComponent
{
    private const string SettingsFile = "gdqa.json";
    private static readonly R1PromptBuilder Prompts = new();
    private readonly GroupDiversityOptions _options;
    private readonly QuestionAugmenter _augmenter;

    internal GroupDiversityTransformer(GroupDiversityOptions options, float threshold)
    {
        _options = options.Clone();
        _augmenter = new QuestionAugmenter(_options);
        Threshold = threshold;
    }

    /// <summary>The S(q) threshold learnt at fit time (−∞ unless difficulty is by similarity).</summary>
    public float Threshold { get; }

    /// <summary>The options in use.</summary>
    public GroupDiversityOptions Options => _options.Clone();

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <summary>Loads a saved transformer (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The transformer.</returns>
    public static GroupDiversityTransformer LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string path = Path.Combine(context.Folder, SettingsFile);
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            T Field<T>(string name) => o[name] is JsonValue v && v.TryGetValue(out T? value) ? value! : throw new InvalidDataException($"{path}: field '{name}' is missing or has the wrong type.");
            if (!Enum.TryParse<DifficultySelection>(Field<string>("difficulty"), out var difficulty) || difficulty == DifficultySelection.Predicate)
            {
                throw new InvalidDataException($"{path}: field 'difficulty' has unknown value '{Field<string>("difficulty")}'.");
            }

            var options = new GroupDiversityOptions
            {
                VariantCount = Field<int>("variant_count"), Difficulty = difficulty, Quantile = Field<double>("quantile"),
                SceneGraphReferences = Field<bool>("scene_graph_references"), Rephrase = Field<bool>("rephrase"), RelationSynonyms = Field<bool>("relation_synonyms"),
                PermuteOptions = Field<bool>("permute_options"), Seed = Field<int>("seed"), SimilarityColumn = Field<string>("similarity_column"),
            };
            if (o["rewriters"] is JsonArray rewriters)
            {
                foreach (var node in rewriters)
                {
                    string typeName = node?.GetValue<string>() ?? throw new InvalidDataException($"{path}: field 'rewriters' holds a null entry.");
                    var type = Type.GetType(typeName) ?? throw new InvalidDataException($"{path}: rewriter type '{typeName}' could not be found (is its assembly loaded?).");
                    if (!typeof(IQuestionRewriter).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null)
                    {
                        throw new InvalidDataException($"{path}: '{typeName}' is not an IQuestionRewriter with a public parameterless constructor.");
                    }

                    options.Rewriters.Add((IQuestionRewriter)Activator.CreateInstance(type)!);
                }
            }

            options.Validate();
            float threshold = o["threshold"] is JsonValue t && t.TryGetValue(out float f) ? f : float.NegativeInfinity;
            return new GroupDiversityTransformer(options, threshold);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        if (_options.Difficulty == DifficultySelection.Predicate)
        {
            throw new InvalidOperationException("A GDQA transformer that selects rows with a user predicate cannot be saved (a delegate has no saved form); use SimilarityQuantile or All.");
        }

        if (_options.Rewriters.FirstOrDefault(r => r.GetType().GetConstructor(Type.EmptyTypes) is null) is { } unsaveable)
        {
            throw new InvalidOperationException($"The GDQA rewriter {unsaveable.GetType().FullName} cannot be saved: a saved transformer re-creates its rewriters by type, so give it a public parameterless constructor.");
        }

        var o = new JsonObject
        {
            ["variant_count"] = _options.VariantCount, ["difficulty"] = _options.Difficulty.ToString(), ["quantile"] = _options.Quantile,
            ["scene_graph_references"] = _options.SceneGraphReferences, ["rephrase"] = _options.Rephrase, ["relation_synonyms"] = _options.RelationSynonyms,
            ["permute_options"] = _options.PermuteOptions, ["seed"] = _options.Seed, ["similarity_column"] = _options.SimilarityColumn,
            ["threshold"] = float.IsFinite(Threshold) ? Threshold : null,
            ["rewriters"] = new JsonArray(_options.Rewriters.Select(r => (JsonNode)JsonValue.Create(r.GetType().AssemblyQualifiedName!)).ToArray()),
        };
        File.WriteAllText(Path.Combine(folder, SettingsFile), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether a row is difficult enough to augment.</summary>
    /// <param name="sample">The row.</param>
    /// <param name="score">Its S(q) (NaN when unknown).</param>
    /// <returns>True when it is augmented.</returns>
    public bool IsDifficult(VqaSample sample, float score) => _options.Difficulty switch
    {
        DifficultySelection.All => true,
        DifficultySelection.Predicate => _options.Predicate!(sample),
        _ => float.IsFinite(score) && score >= Threshold,
    };

    /// <summary>The forms of one row (just the original when it is not difficult).</summary>
    /// <param name="sample">The row.</param>
    /// <param name="score">Its S(q).</param>
    /// <returns>The result.</returns>
    public AugmentationResult Augment(VqaSample sample, float score)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return IsDifficult(sample, score) || !sample.IsMultipleChoice
            ? _augmenter.Augment(sample)
            : new AugmentationResult(AugmentationStatus.NotDifficult, new[] { new QuestionVariant(sample.Question, sample.Options, sample.CorrectIndex, "original") }, null);
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _ = Reader(inputSchema);
        return ComputedColumnsDataView<AugmentedRow>.BuildSchema(inputSchema, Columns().Select(c => (c.Name, c.Type)));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("GroupDiversityTransformer maps whole views lazily; use Transform.");

    /// <inheritdoc />
    public void Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Save a pipeline holding GroupDiversityTransformer with AnatomyR1Model.Save(mlContext, model, schema, folder).");

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var reader = Reader(input.Schema);
        return new ComputedColumnsDataView<AugmentedRow>(input, Columns(), reader.ActiveColumns, row =>
        {
            var read = reader.Bind(row);
            return () =>
            {
                var (sample, score) = read();
                var result = Augment(sample, score);
                var variants = result.Variants;
                return new AugmentedRow(
                    variants.Select(v => v.Question).ToArray(),
                    variants.SelectMany(v => v.Options).ToArray(),
                    variants.Select(v => v.CorrectIndex).ToArray(),
                    variants.Select(v => v.CorrectLetter).ToArray(),
                    variants.Select(v => Prompts.Build(v.Question, v.Options)).ToArray(),
                    variants.Select(v => v.Generator).ToArray(),
                    result.Status.ToString());
            };
        });
    }

    private SampleRowReader Reader(DataViewSchema schema) =>
        new(schema, _options.SimilarityColumn, requireScore: _options.Difficulty == DifficultySelection.SimilarityQuantile);

    private static IReadOnlyList<ComputedColumn<AugmentedRow>> Columns()
    {
        var text = TextDataViewType.Instance;
        var texts = new VectorDataViewType(text);
        return new[]
        {
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantQuestions, texts, r => r.Questions),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantOptions, texts, r => r.Options),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantCorrectIndices, new VectorDataViewType(NumberDataViewType.Int32), r => r.Correct),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantCorrectLetters, texts, r => r.Letters),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantPrompts, texts, r => r.Prompts),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.VariantGenerators, texts, r => r.Generators),
            new ComputedColumn<AugmentedRow>(GroupDiversityColumns.AugmentationStatus, text, r => r.Status),
        };
    }

    private sealed record AugmentedRow(string[] Questions, string[] Options, int[] Correct, string[] Letters, string[] Prompts, string[] Generators, string Status);
}
