using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>Options of the synthetic scene dataset. Every field has a documented default.</summary>
public sealed class SyntheticDatasetOptions
{
    /// <summary>Number of question records. Default 2,000.</summary>
    public int Count { get; set; } = 2000;

    /// <summary>Seed; the same seed and options give byte-identical output. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Image side in pixels (16–1024). Default 64: small enough for CPU training, large enough to see textures.</summary>
    public int ImageSize { get; set; } = 64;

    /// <summary>Questions asked about each scene (1–4), each about a different anatomy region. Default 1.</summary>
    public int QuestionsPerScene { get; set; } = 1;

    /// <summary>
    /// Relative weight of each question family; families left out are not generated. Default: the five SSG-VQA
    /// families (positional, attribute, one-hop, two-hop, rephrased), equally weighted.
    /// </summary>
    public IDictionary<QuestionFamily, double> FamilyWeights { get; } = QuestionGenerator.Families.ToDictionary(f => f, _ => 1.0);

    /// <summary>Relative weight of each answer class. Default: the six classes equally weighted.</summary>
    public IDictionary<string, double> ClassWeights { get; } = AnatomyClasses.All.ToDictionary(c => c, _ => 1.0);

    /// <summary>
    /// Whether a question's target may be described by its colour word ("What is the red top-mid anatomy?"), as in
    /// SSG-VQA. Colour words follow the class (brown = liver, yellow = omentum; red and white are shared), so a colour
    /// can give the answer away without looking (see <see cref="AllowTextShortcuts"/>). Set false to describe targets
    /// by position and relations only. Default <c>true</c>.
    /// </summary>
    public bool ColourWordsInTargets { get; set; } = true;

    /// <summary>
    /// Whether a target's colour word may be one that only the correct option carries, which lets the text alone
    /// decide the answer (<see cref="SyntheticRecord.TextShortcut"/>). Default <c>false</c>: a colour word is used only
    /// when at least two options share it (e.g. "red" with both Gut and Cystic Plate among the options).
    /// </summary>
    public bool AllowTextShortcuts { get; set; }

    /// <summary>Share of scenes in the training split. Default 0.8.</summary>
    public double TrainFraction { get; set; } = 0.8;

    /// <summary>Share of scenes in the validation split (the rest is test). Default 0.1.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Scenes rendered in parallel; 0 = one per processor core. Output does not depend on it. Default 0.</summary>
    public int Parallelism { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (Count < 1)
        {
            throw new ArgumentException($"Count must be at least 1 (got {Count}).");
        }

        if (ImageSize is < 16 or > 1024)
        {
            throw new ArgumentException($"ImageSize must be 16–1024 pixels (got {ImageSize}).");
        }

        if (QuestionsPerScene is < 1 or > 4)
        {
            throw new ArgumentException($"QuestionsPerScene must be 1–4 (got {QuestionsPerScene}).");
        }

        if (FamilyWeights.Keys.Any(f => !QuestionGenerator.Families.Contains(f)))
        {
            throw new ArgumentException($"Only these families can be generated: {string.Join(", ", QuestionGenerator.Families)}.");
        }

        if (ClassWeights.Keys.Any(c => !AnatomyClasses.All.Contains(c)))
        {
            throw new ArgumentException($"Only these classes exist: {string.Join(", ", AnatomyClasses.All)}.");
        }

        if (FamilyWeights.Values.Any(w => w < 0 || !double.IsFinite(w)) || FamilyWeights.Values.Sum() <= 0
            || ClassWeights.Values.Any(w => w < 0 || !double.IsFinite(w)) || ClassWeights.Values.Sum() <= 0)
        {
            throw new ArgumentException("Family and class weights must be finite, non-negative and not all zero.");
        }

        if (ClassWeights.Count(p => p.Value > 0) < QuestionsPerScene)
        {
            throw new ArgumentException($"QuestionsPerScene ({QuestionsPerScene}) needs at least as many classes with a positive weight.");
        }

        if (TrainFraction < 0 || ValidationFraction < 0 || TrainFraction + ValidationFraction > 1)
        {
            throw new ArgumentException("TrainFraction and ValidationFraction must be non-negative and sum to at most 1.");
        }
    }
}
