using AnatomyR1.Data;
using AnatomyR1.Prompts;

namespace AnatomyR1.Evaluation;

/// <summary>Options of <see cref="VqaEvaluator"/>; column names default to <see cref="VqaColumns"/>.</summary>
public sealed class VqaEvaluatorOptions
{
    /// <summary>How answers are read from <see cref="CompletionColumn"/> when there is no <see cref="PredictedLetterColumn"/>. Default: <see cref="AnswerExtractionStrategy.OptionText"/>.</summary>
    public AnswerExtractionStrategy Strategy { get; set; } = AnswerExtractionStrategy.OptionText;

    /// <summary>Text column with the full completion (optional; needed for format compliance). Default <c>Completion</c>.</summary>
    public string CompletionColumn { get; set; } = VqaColumns.Completion;

    /// <summary>Text column with the chosen letter (optional; takes precedence over the completion). Default <c>PredictedLetter</c>.</summary>
    public string PredictedLetterColumn { get; set; } = VqaColumns.PredictedLetter;

    /// <summary>Text column with the chosen answer text (optional; used for open questions). Default <c>PredictedAnswer</c>.</summary>
    public string PredictedAnswerColumn { get; set; } = VqaColumns.PredictedAnswer;
}
