using AnatomyR1.Data;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Pairs every question with the next question's image, to measure how much answers depend on the image.</summary>
internal static class MismatchedImages
{
    public static List<VqaSample> Of(IReadOnlyList<VqaSample> samples) => samples.Select((s, i) => new VqaSample
    {
        ImagePath = samples[(i + 1) % samples.Count].ImagePath, Question = s.Question, Options = s.Options, CorrectIndex = s.CorrectIndex,
        CorrectLetter = s.CorrectLetter, Answer = s.Answer, AnswerClass = s.AnswerClass, QuestionFamily = s.QuestionFamily,
    }).ToList();
}
