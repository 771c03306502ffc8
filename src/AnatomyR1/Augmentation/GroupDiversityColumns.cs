namespace AnatomyR1.Augmentation;

/// <summary>The columns the GDQA transform adds.</summary>
public static class GroupDiversityColumns
{
    /// <summary>Vector of text: the K question texts (the original first).</summary>
    public const string VariantQuestions = "VariantQuestions";

    /// <summary>Vector of text: each variant's options in its order, concatenated (K × number of options).</summary>
    public const string VariantOptions = "VariantOptions";

    /// <summary>Vector of Int32: each variant's correct option index.</summary>
    public const string VariantCorrectIndices = "VariantCorrectIndices";

    /// <summary>Vector of text: each variant's correct letter.</summary>
    public const string VariantCorrectLetters = "VariantCorrectLetters";

    /// <summary>Vector of text: each variant's full R1 prompt (question, lettered options, answer format).</summary>
    public const string VariantPrompts = "VariantPrompts";

    /// <summary>Vector of text: which generator made each variant.</summary>
    public const string VariantGenerators = "VariantGenerators";

    /// <summary>Text: what was done with the row (<see cref="Augmentation.AugmentationStatus"/>).</summary>
    public const string AugmentationStatus = "AugmentationStatus";

    /// <summary>The variants of a row read back from the flattened columns.</summary>
    /// <param name="questions">The <see cref="VariantQuestions"/> value.</param>
    /// <param name="options">The <see cref="VariantOptions"/> value.</param>
    /// <param name="correct">The <see cref="VariantCorrectIndices"/> value.</param>
    /// <param name="generators">The <see cref="VariantGenerators"/> value, or null.</param>
    /// <returns>The variants.</returns>
    /// <exception cref="ArgumentException">The lengths do not fit together; the message says how.</exception>
    public static IReadOnlyList<QuestionVariant> Read(IReadOnlyList<string> questions, IReadOnlyList<string> options, IReadOnlyList<int> correct, IReadOnlyList<string>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(questions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(correct);
        int k = questions.Count;
        if (k == 0 || correct.Count != k || options.Count % k != 0 || (generators is not null && generators.Count != k))
        {
            throw new ArgumentException($"Variant columns do not fit: {k} questions, {options.Count} options, {correct.Count} correct indices{(generators is null ? string.Empty : $", {generators.Count} generators")}.");
        }

        int n = options.Count / k;
        var result = new List<QuestionVariant>(k);
        for (int v = 0; v < k; v++)
        {
            if (correct[v] < 0 || correct[v] >= n)
            {
                throw new ArgumentException($"Variant {v} has correct index {correct[v]} outside its {n} options.");
            }

            result.Add(new QuestionVariant(questions[v], options.Skip(v * n).Take(n).ToArray(), correct[v], generators?[v] ?? "unknown"));
        }

        return result;
    }
}
