namespace AnatomyR1.Data;

/// <summary>Column names shared by every AnatomyR1 <see cref="Microsoft.ML.IDataView"/>.</summary>
public static class VqaColumns
{
    /// <summary>Text: <see cref="VqaSample.SampleId"/>.</summary>
    public const string SampleId = nameof(VqaSample.SampleId);

    /// <summary>Text: <see cref="VqaSample.ImagePath"/>.</summary>
    public const string ImagePath = nameof(VqaSample.ImagePath);

    /// <summary>Text: <see cref="VqaSample.Question"/>.</summary>
    public const string Question = nameof(VqaSample.Question);

    /// <summary>Variable-length text vector: <see cref="VqaSample.Options"/>.</summary>
    public const string Options = nameof(VqaSample.Options);

    /// <summary>Int32: <see cref="VqaSample.CorrectIndex"/>.</summary>
    public const string CorrectIndex = nameof(VqaSample.CorrectIndex);

    /// <summary>Text: <see cref="VqaSample.CorrectLetter"/>.</summary>
    public const string CorrectLetter = nameof(VqaSample.CorrectLetter);

    /// <summary>Text: <see cref="VqaSample.Answer"/>.</summary>
    public const string Answer = nameof(VqaSample.Answer);

    /// <summary>Text: <see cref="VqaSample.AnswerClass"/>.</summary>
    public const string AnswerClass = nameof(VqaSample.AnswerClass);

    /// <summary>Text: <see cref="VqaSample.QuestionFamily"/>.</summary>
    public const string QuestionFamily = nameof(VqaSample.QuestionFamily);

    /// <summary>Text: <see cref="VqaSample.Modality"/>.</summary>
    public const string Modality = nameof(VqaSample.Modality);

    /// <summary>Text: <see cref="VqaSample.QuestionType"/>.</summary>
    public const string QuestionType = nameof(VqaSample.QuestionType);

    /// <summary>Text: <see cref="VqaSample.TargetCompletion"/>.</summary>
    public const string TargetCompletion = nameof(VqaSample.TargetCompletion);

    /// <summary>Text: a model's full completion (added by prediction transformers).</summary>
    public const string Completion = "Completion";

    /// <summary>Text: the option letter a model chose, empty when none could be extracted.</summary>
    public const string PredictedLetter = "PredictedLetter";

    /// <summary>Text: the answer text a model chose (option text, or the open answer).</summary>
    public const string PredictedAnswer = "PredictedAnswer";

    /// <summary>Single: S(q), the similarity of a question's distractors to its answer (added by the similarity scorer).</summary>
    public const string OptionSimilarity = "OptionSimilarity";

    /// <summary>Int32: the curriculum stage of a question, 0 = easiest (added by the similarity scorer; −1 when S(q) is undefined).</summary>
    public const string CurriculumStage = "CurriculumStage";
}
