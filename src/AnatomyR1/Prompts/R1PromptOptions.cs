namespace AnatomyR1.Prompts;

/// <summary>Options of <see cref="R1PromptBuilder"/>.</summary>
public sealed class R1PromptOptions
{
    /// <summary>The default template: image placeholder, question, lettered options and the R1 output instructions.</summary>
    public const string DefaultTemplate =
        "{image}{question}\nOptions:\n{options}\n"
        + "Think about the image step by step inside <think> </think>, then give the letter of the correct option "
        + "({letters}) inside <answer> </answer>, like this: <think> ... </think> <answer>X</answer>";

    /// <summary>
    /// The prompt template. Placeholders: <c>{image}</c> (the <see cref="ImageToken"/>), <c>{question}</c>,
    /// <c>{options}</c> (one <c>A. text</c> line per option), <c>{letters}</c> (e.g. <c>A, B, C or D</c>).
    /// <c>{question}</c> and <c>{options}</c> are required. Default: <see cref="DefaultTemplate"/>.
    /// </summary>
    public string Template { get; set; } = DefaultTemplate;

    /// <summary>Text substituted for <c>{image}</c>; default <c>&lt;image&gt;</c>, the placeholder the models expand into image tokens.</summary>
    public string ImageToken { get; set; } = "<image>";
}
