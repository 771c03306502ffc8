using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The four training methods as presets (used by <c>anatomy-r1 train</c>, the demo and the reproduction experiment):
/// plain GRPO, GRPO + ASCL (the S(q) curriculum), GRPO + GDQA (question forms for the questions at or above the median
/// S(q)), and Anatomy-R1 (both). S(q) always comes from the starting policy's token embeddings.
/// </summary>
public static class TrainingMethods
{
    /// <summary>Plain GRPO.</summary>
    public const string Grpo = "grpo";

    /// <summary>GRPO with the anatomical-similarity curriculum.</summary>
    public const string Ascl = "ascl";

    /// <summary>GRPO with group-diversity question augmentation.</summary>
    public const string Gdqa = "gdqa";

    /// <summary>GRPO with both.</summary>
    public const string AnatomyR1 = "anatomy-r1";

    /// <summary>The four names.</summary>
    public static IReadOnlyList<string> All { get; } = new[] { Grpo, Ascl, Gdqa, AnatomyR1 };

    /// <summary>Whether a method uses the curriculum.</summary>
    /// <param name="method">The method name.</param>
    /// <returns>True for ascl and anatomy-r1.</returns>
    public static bool UsesCurriculum(string method) => method is Ascl or AnatomyR1;

    /// <summary>Whether a method uses question forms.</summary>
    /// <param name="method">The method name.</param>
    /// <returns>True for gdqa and anatomy-r1.</returns>
    public static bool UsesGdqa(string method) => method is Gdqa or AnatomyR1;

    /// <summary>
    /// GRPO examples for a method: every example carries S(q) from the policy's token embeddings (so the batch mean
    /// S(q) is logged for every method); GDQA methods add K question forms to the rows at or above the median S(q).
    /// </summary>
    /// <param name="method">The method name.</param>
    /// <param name="samples">Multiple-choice training questions.</param>
    /// <param name="policy">The starting policy (its embeddings are copied, not kept).</param>
    /// <param name="variants">K, forms per difficult question (original included).</param>
    /// <param name="seed">Seed of the forms.</param>
    /// <returns>The examples.</returns>
    public static List<GrpoExample> Examples(string method, IReadOnlyList<VqaSample> samples, IVisionLanguagePolicy policy, int variants, int seed)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var embedder = new PolicyTokenEmbedder(policy);
        var scores = samples.Select(s => OptionSimilarityScore.Compute(s.Options, s.CorrectIndex, embedder)).ToArray();
        var augmenter = UsesGdqa(method) ? new QuestionAugmenter(new GroupDiversityOptions { VariantCount = variants, Difficulty = DifficultySelection.All, Seed = seed }) : null;
        float threshold = Median(scores);
        return samples.Select((s, i) => new GrpoExample(s)
        {
            OptionSimilarity = scores[i],
            Variants = augmenter is not null && scores[i] >= threshold ? augmenter.Augment(s).Variants.Select(v => v.ToSample(s)).ToList() : null,
        }).ToList();
    }

    /// <summary>Sets the method's curriculum (default pacing) and GDQA options on <paramref name="options"/>.</summary>
    /// <param name="method">The method name.</param>
    /// <param name="options">The GRPO options to change.</param>
    /// <param name="mode">GDQA mode for the GDQA methods.</param>
    public static void Configure(string method, GrpoOptions options, GdqaMode mode)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Curriculum = UsesCurriculum(method) ? new CurriculumOptions() : null;
        options.Gdqa = UsesGdqa(method) ? new GdqaTrainingOptions { Mode = mode } : null;
    }

    private static float Median(float[] values)
    {
        var finite = values.Where(float.IsFinite).OrderBy(v => v).ToArray();
        return finite.Length == 0 ? float.PositiveInfinity : finite[finite.Length / 2];
    }
}
