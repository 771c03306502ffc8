using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// One training prompt: a multiple-choice sample (question, options, correct index, answer class …) and its image,
/// either the file in <see cref="VqaSample.ImagePath"/> or an image given directly (bytes or pixels of any size).
/// </summary>
/// <param name="Sample">The sample; rewards read it.</param>
/// <param name="Image">The image, or null to load <see cref="VqaSample.ImagePath"/>. The policy's image processor prepares it.</param>
/// <param name="Columns">Further columns of the row for custom rewards; may be null.</param>
public sealed record GrpoExample(VqaSample Sample, PolicyImage? Image = null, IReadOnlyDictionary<string, object?>? Columns = null)
{
    /// <summary>The answer class used for per-class metrics: <see cref="VqaSample.AnswerClass"/>, else the answer text.</summary>
    public string ClassLabel => Sample.AnswerClass.Length > 0 ? Sample.AnswerClass : Sample.Answer;

    /// <summary>S(q) of the question (from the <c>OptionSimilarity</c> column), or null when not scored. The curriculum needs it; the trainer logs its batch mean as <c>curriculum/mean_s_q</c>.</summary>
    public float? OptionSimilarity { get; init; }

    /// <summary>
    /// The curriculum stage of the question (the <c>CurriculumStage</c> column of <c>AnatomicalSimilarity</c>), or null.
    /// When every example has one, the <see cref="AnatomyR1.Curriculum.CurriculumPacing.Stages"/> pacing opens these
    /// stages one by one (one stage count: the similarity estimator's).
    /// </summary>
    public int? CurriculumStage { get; init; }

    /// <summary>
    /// GDQA: the question's answer-preserving forms, the original first (from the GDQA transform's variant columns),
    /// or null. With <see cref="GrpoOptions.Gdqa"/> set, the group of a prompt with two or more forms is spread over them.
    /// </summary>
    public IReadOnlyList<VqaSample>? Variants { get; init; }

    /// <summary>The image to prepare: <see cref="Image"/>, else the sample's file.</summary>
    /// <returns>The image.</returns>
    public PolicyImage ImageOrFile() => Image ?? PolicyImage.FromFile(Sample.ImagePath);
}
