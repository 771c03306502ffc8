using AnatomyR1.Data;

namespace AnatomyR1.Augmentation;

/// <summary>
/// One answer-preserving form of a question: its text, its option order and the index of the correct option in that
/// order, and which generator made it (<c>original</c>, <c>scene-graph</c>, <c>rephrase</c>, <c>relation-synonym</c>,
/// <c>permute</c>, or a rewrite followed by <c>+permute</c>).
/// </summary>
/// <param name="Question">The question text.</param>
/// <param name="Options">The options in this variant's order.</param>
/// <param name="CorrectIndex">The correct option's index in <paramref name="Options"/>.</param>
/// <param name="Generator">The generator's name.</param>
public sealed record QuestionVariant(string Question, IReadOnlyList<string> Options, int CorrectIndex, string Generator)
{
    /// <summary>The letter of the correct option (A, B, …).</summary>
    public string CorrectLetter => ((char)('A' + CorrectIndex)).ToString();

    /// <summary>The original sample with this variant's question, options and correct index (everything else kept).</summary>
    /// <param name="original">The sample the variant was made from.</param>
    /// <returns>A new sample.</returns>
    public VqaSample ToSample(VqaSample original)
    {
        ArgumentNullException.ThrowIfNull(original);
        return new VqaSample
        {
            SampleId = original.SampleId, ImagePath = original.ImagePath, Question = Question, Options = Options.ToArray(), CorrectIndex = CorrectIndex,
            CorrectLetter = CorrectLetter, Answer = Options[CorrectIndex], AnswerClass = original.AnswerClass, QuestionFamily = QuestionFamilyClassifier.Classify(Question).ToString(),
            Modality = original.Modality, QuestionType = original.QuestionType, Dataset = original.Dataset, SourceFile = original.SourceFile,
            RecordIndex = original.RecordIndex, Line = original.Line,
        };
    }
}
