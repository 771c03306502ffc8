namespace AnatomyR1.Prompts;

/// <summary>How the chosen option is read from a completion.</summary>
public enum AnswerExtractionStrategy
{
    /// <summary>
    /// Med-R1 style: the first <c>&lt;answer&gt;\s*(\w+)\s*&lt;/answer&gt;</c> match must be a single option letter;
    /// anything else (no tag, a word, a letter out of range) counts as no answer. Matches the Med-R1 / Anatomy-R1
    /// accuracy reward for prompts that ask for the choice letter.
    /// </summary>
    TagLetter = 0,

    /// <summary>
    /// The content of the first <c>&lt;answer&gt;…&lt;/answer&gt;</c> tag is read as a letter (<c>B</c>, <c>B.</c>,
    /// <c>(B)</c>, <c>B. Liver</c>, <c>Option B</c>) or as an option's text (case, spaces and underscores ignored).
    /// No tag or no match counts as no answer. Use it for prompts that ask for the answer text, such as the
    /// published <c>GRPO.json</c> instructions.
    /// </summary>
    OptionText,

    /// <summary>
    /// The official OmniMedVQA rule: the option with the highest <c>difflib.SequenceMatcher(None, option,
    /// prediction).ratio()</c> wins (first on ties), where the prediction is the <c>&lt;answer&gt;</c> content, or the
    /// whole completion when it has no tag. It always picks some option, even for an empty or unrelated prediction.
    /// </summary>
    NearestOption,
}
