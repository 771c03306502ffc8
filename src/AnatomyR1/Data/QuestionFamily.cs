namespace AnatomyR1.Data;

/// <summary>Question families of the SSG-VQA templates (and <see cref="Other"/> for everything else).</summary>
public enum QuestionFamily
{
    /// <summary>Not one of the recognised templates (e.g. OmniMedVQA questions).</summary>
    Other = 0,

    /// <summary>"What anatomy is at the top-left of the frame?"</summary>
    Positional,

    /// <summary>"What is the red top-mid anatomy?": attributes only, no relation.</summary>
    Attribute,

    /// <summary>One relation to another object: "What is the name of the anatomy above the grasper?"</summary>
    OneHop,

    /// <summary>Two or more relations: "… that is within the gut thing and above the scissors object?"</summary>
    TwoHop,

    /// <summary>The rephrased forms "There is a &lt;thing&gt; &lt;relation&gt; &lt;thing&gt;; what is it?" / "what name is it?" / "what is its name?"</summary>
    Rephrased,

    /// <summary>"How many …?"</summary>
    Count,

    /// <summary>"Is there …?" / "Are there …?"</summary>
    Existence,
}
