namespace AnatomyR1.Data;

/// <summary>Supported question file formats.</summary>
public enum VqaFormat
{
    /// <summary>Detect from the file: a folder or <c>.txt</c> is SSG-VQA; JSON is told apart by its first record's keys.</summary>
    Auto = 0,

    /// <summary>The Anatomy-R1 JSON list (<c>instruction</c>, <c>sft_prompt</c>/<c>sft_instruction</c>, <c>solution</c>, <c>answer</c>, <c>images</c>).</summary>
    AnatomyR1Json,

    /// <summary>OmniMedVQA <c>QA_information</c> JSON (<c>question</c>, <c>gt_answer</c>, <c>option_A</c>…, <c>image_path</c>).</summary>
    OmniMedVqaJson,

    /// <summary>SSG-VQA <c>qa_txt</c> files: two header lines, then <c>question|answer|template.json|type|relation</c> lines.</summary>
    SsgVqaText,
}
