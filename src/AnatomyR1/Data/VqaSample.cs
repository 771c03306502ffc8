using Microsoft.ML.Data;

namespace AnatomyR1.Data;

/// <summary>
/// One visual question: the project's single sample schema. Every loader produces it and
/// <see cref="Microsoft.ML.IDataView"/> columns carry the same names (see <see cref="VqaColumns"/>).
/// </summary>
/// <remarks>
/// Multiple-choice samples have 2–26 <see cref="Options"/> and a <see cref="CorrectIndex"/> into them.
/// Open-answer samples (SSG-VQA text files) have no options, <see cref="CorrectIndex"/> = −1 and the answer in
/// <see cref="Answer"/>.
/// </remarks>
public sealed class VqaSample
{
    /// <summary>Stable identifier: the source's question id, or <c>file#record</c>.</summary>
    public string SampleId { get; set; } = string.Empty;

    /// <summary>Resolved image path (after trimming, prefix remapping and joining to the image root).</summary>
    public string ImagePath { get; set; } = string.Empty;

    /// <summary>The question text alone, without options or instructions.</summary>
    public string Question { get; set; } = string.Empty;

    /// <summary>Option texts in their lettered order (A, B, …); empty for open questions.</summary>
    public string[] Options { get; set; } = Array.Empty<string>();

    /// <summary>Zero-based index of the correct option; −1 for open questions.</summary>
    public int CorrectIndex { get; set; } = -1;

    /// <summary>Letter of the correct option (A, B, …); empty for open questions.</summary>
    public string CorrectLetter { get; set; } = string.Empty;

    /// <summary>Text of the correct answer.</summary>
    public string Answer { get; set; } = string.Empty;

    /// <summary>Answer class used for per-class metrics (e.g. <c>Liver</c>); the answer text in display form.</summary>
    public string AnswerClass { get; set; } = string.Empty;

    /// <summary>Question family (see <see cref="Data.QuestionFamily"/>), as its name.</summary>
    public string QuestionFamily { get; set; } = nameof(Data.QuestionFamily.Other);

    /// <summary>Imaging modality (OmniMedVQA <c>modality_type</c>); <c>Endoscopy</c> for surgical video frames.</summary>
    public string Modality { get; set; } = string.Empty;

    /// <summary>Question type (OmniMedVQA <c>question_type</c>, SSG-VQA type field); empty when unknown.</summary>
    public string QuestionType { get; set; } = string.Empty;

    /// <summary>Source dataset name (e.g. <c>SSG-VQA</c>, or OmniMedVQA's <c>dataset</c>).</summary>
    public string Dataset { get; set; } = string.Empty;

    /// <summary>The original instruction or prompt text of the record, when the format has one.</summary>
    public string Instruction { get; set; } = string.Empty;

    /// <summary>
    /// A reference completion for supervised training (e.g. the synthetic reasoning trace
    /// <c>&lt;think&gt; … &lt;/think&gt; &lt;answer&gt;B&lt;/answer&gt;</c>); empty when the source has none.
    /// </summary>
    public string TargetCompletion { get; set; } = string.Empty;

    /// <summary>File the record was read from.</summary>
    public string SourceFile { get; set; } = string.Empty;

    /// <summary>Zero-based index of the record in its file (JSON array element, or question line).</summary>
    public int RecordIndex { get; set; }

    /// <summary>One-based line in the source file where the record starts.</summary>
    public int Line { get; set; }

    /// <summary>Whether the sample is multiple choice (has options and a correct index).</summary>
    [NoColumn]
    public bool IsMultipleChoice => Options.Length > 0 && CorrectIndex >= 0;
}
