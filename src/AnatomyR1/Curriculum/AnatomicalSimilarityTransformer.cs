using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Adds S(q) (<c>OptionSimilarity</c>) and the curriculum stage (<c>CurriculumStage</c>) to every row, lazily as the
/// view is read. Made by <see cref="AnatomicalSimilarityEstimator"/>; see there for the columns.
/// </summary>
/// <remarks>
/// ML.NET's <c>mlContext.Model.Save</c> cannot store a third-party transformer's fitted state, so save a pipeline
/// that holds this transformer with <see cref="AnatomyR1Model.Save"/>: the stage bounds, the columns and the
/// similarity measure (which must implement <see cref="IPersistentComponent"/>, as every built-in one does) travel
/// with it.
/// </remarks>
public sealed class AnatomicalSimilarityTransformer : ITransformer, IPersistentComponent
{
    private const string SettingsFile = "similarity.json";
    private const string MeasureFolder = "measure";
    private readonly float[] _bounds;

    internal AnatomicalSimilarityTransformer(AnatomicalSimilarityOptions options, float[] bounds, int fittedRows, int undefinedRows)
    {
        Options = options.Clone();
        _bounds = bounds;
        FittedRowCount = fittedRows;
        UndefinedRowCount = undefinedRows;
    }

    /// <summary>The columns, measure, aggregation and stage count in use.</summary>
    internal AnatomicalSimilarityOptions Options { get; }

    /// <summary>The similarity measure.</summary>
    public IOptionSimilarity Similarity => Options.Similarity!;

    /// <summary>How pair similarities are combined.</summary>
    public SimilarityAggregation Aggregation => Options.Aggregation;

    /// <summary>The K − 1 ascending S(q) bounds between stages, learnt at fit time (the k/K quantiles).</summary>
    public IReadOnlyList<float> StageBounds => _bounds;

    /// <summary>Rows seen when fitting.</summary>
    public int FittedRowCount { get; }

    /// <summary>Of those, rows whose S(q) was undefined (open questions, fewer than 2 options): stage −1, never dropped.</summary>
    public int UndefinedRowCount { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <summary>Loads a saved transformer (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The transformer.</returns>
    public static AnatomicalSimilarityTransformer LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string path = Path.Combine(context.Folder, SettingsFile);
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            string Text(string name) => (string?)o[name] ?? throw new InvalidDataException($"{path}: field '{name}' is missing.");
            if (!Enum.TryParse<SimilarityAggregation>(Text("aggregation"), out var aggregation))
            {
                throw new InvalidDataException($"{path}: field 'aggregation' has unknown value '{Text("aggregation")}'.");
            }

            var bounds = (o["stage_bounds"] as JsonArray ?? throw new InvalidDataException($"{path}: field 'stage_bounds' is missing."))
                .Select((n, i) => n is JsonValue v && v.TryGetValue(out float f) ? f : throw new InvalidDataException($"{path}: stage_bounds[{i}] is not a number.")).ToArray();
            var options = new AnatomicalSimilarityOptions
            {
                OptionsColumn = Text("options_column"),
                CorrectIndexColumn = Text("correct_index_column"),
                OutputColumn = Text("output_column"),
                StageColumn = Text("stage_column"),
                Aggregation = aggregation,
                StageCount = bounds.Length + 1,
                Similarity = ComponentStore.Load<IOptionSimilarity>(context.Child(MeasureFolder)),
            };
            options.Validate();
            return new AnatomicalSimilarityTransformer(options, bounds, (int?)o["fitted_rows"] ?? 0, (int?)o["undefined_rows"] ?? 0);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        if (Similarity is not IPersistentComponent measure)
        {
            throw new InvalidOperationException($"The similarity measure {Similarity.GetType().FullName} ('{Similarity.Name}') cannot be saved: it does not implement {nameof(IPersistentComponent)}.");
        }

        var o = new JsonObject
        {
            ["options_column"] = Options.OptionsColumn,
            ["correct_index_column"] = Options.CorrectIndexColumn,
            ["output_column"] = Options.OutputColumn,
            ["stage_column"] = Options.StageColumn,
            ["aggregation"] = Options.Aggregation.ToString(),
            ["stage_bounds"] = new JsonArray(_bounds.Select(b => (JsonNode)JsonValue.Create(b)).ToArray()),
            ["fitted_rows"] = FittedRowCount,
            ["undefined_rows"] = UndefinedRowCount,
        };
        File.WriteAllText(Path.Combine(folder, SettingsFile), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        ComponentStore.Save(measure, Path.Combine(folder, MeasureFolder));
    }

    /// <summary>The stage of an S(q) value: the number of bounds at or below it; −1 for NaN.</summary>
    /// <param name="score">S(q).</param>
    /// <returns>0 … K − 1, or −1.</returns>
    public int StageOf(float score)
    {
        if (!float.IsFinite(score))
        {
            return -1;
        }

        int stage = 0;
        while (stage < _bounds.Length && score >= _bounds[stage])
        {
            stage++;
        }

        return stage;
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _ = new SimilarityRowReader(inputSchema, Options.OptionsColumn, Options.CorrectIndexColumn);
        return SimilarityColumns.AppendTo(inputSchema, Options.OutputColumn, Options.StageColumn);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("AnatomicalSimilarityTransformer maps whole views lazily; use Transform.");

    /// <inheritdoc />
    public void Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Save a pipeline holding AnatomicalSimilarityTransformer with AnatomyR1Model.Save(mlContext, model, schema, folder); mlContext.Model.Save cannot store its fitted state.");

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var reader = new SimilarityRowReader(input.Schema, Options.OptionsColumn, Options.CorrectIndexColumn);
        var columns = new[]
        {
            new ComputedColumn<ScoredRow>(Options.OutputColumn, NumberDataViewType.Single, r => r.Score),
            new ComputedColumn<ScoredRow>(Options.StageColumn, NumberDataViewType.Int32, r => r.Stage),
        };
        return new ComputedColumnsDataView<ScoredRow>(input, columns, reader.ActiveColumns, row =>
        {
            var bound = reader.Bind(row);
            return () =>
            {
                float score = bound.Score(Similarity, Aggregation);
                return new ScoredRow(score, StageOf(score));
            };
        });
    }

    private sealed record ScoredRow(float Score, int Stage);

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"S(q) with {Similarity.Name}, {Aggregation}, {_bounds.Length + 1} stages (bounds {string.Join(", ", _bounds.Select(b => b.ToString("0.000", CultureInfo.InvariantCulture)))})");
}
