using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnatomyR1.Evaluation;

/// <summary>Metrics of a set of predictions: overall and grouped accuracy, format compliance, confusion matrix.</summary>
public sealed class VqaEvaluationResult
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>All rows.</summary>
    public required GroupAccuracy Overall { get; init; }

    /// <summary>Rows where no option (or open answer) could be read from the prediction; they count as wrong.</summary>
    public required int Unanswered { get; init; }

    /// <summary>Share of completions in the R1 format (see <see cref="Rewards.FormatReward"/>); null without a completion column.</summary>
    public required double? FormatCompliance { get; init; }

    /// <summary>Accuracy per answer class (e.g. Liver).</summary>
    public required IReadOnlyDictionary<string, GroupAccuracy> ByClass { get; init; }

    /// <summary>Accuracy per question family.</summary>
    public required IReadOnlyDictionary<string, GroupAccuracy> ByFamily { get; init; }

    /// <summary>Accuracy per modality.</summary>
    public required IReadOnlyDictionary<string, GroupAccuracy> ByModality { get; init; }

    /// <summary>Accuracy per question type.</summary>
    public required IReadOnlyDictionary<string, GroupAccuracy> ByQuestionType { get; init; }

    /// <summary>True answer class × predicted class.</summary>
    public required ConfusionMatrix Confusion { get; init; }

    /// <summary>Serialises the result as indented JSON (camelCase names; accuracies and standard errors included).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a result written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The result.</returns>
    public static VqaEvaluationResult FromJson(string json) =>
        JsonSerializer.Deserialize<VqaEvaluationResult>(json, JsonOptions) ?? throw new JsonException("The JSON holds no evaluation result.");
}
