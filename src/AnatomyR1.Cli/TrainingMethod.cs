using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;

namespace AnatomyR1.Cli;

/// <summary>The four training methods of the command line and how each prepares the GRPO examples and options.</summary>
internal static class TrainingMethod
{
    public const string Grpo = "grpo";
    public const string Ascl = "ascl";
    public const string Gdqa = "gdqa";
    public const string AnatomyR1 = "anatomy-r1";

    public static readonly string[] All = { Grpo, Ascl, Gdqa, AnatomyR1 };

    public static bool UsesCurriculum(string method) => method is Ascl or AnatomyR1;

    public static bool UsesGdqa(string method) => method is Gdqa or AnatomyR1;

    /// <summary>
    /// GRPO examples for a method: every example carries S(q) from the policy's token embeddings (so the batch mean
    /// S(q) is logged for every method); GDQA methods add K question forms to the rows at or above the median S(q).
    /// </summary>
    public static List<GrpoExample> Examples(string method, IReadOnlyList<VqaSample> samples, TinyVlmPolicy policy, int variants, int seed)
    {
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

    /// <summary>Sets the method's curriculum and GDQA options.</summary>
    public static void Configure(string method, GrpoOptions options, GdqaMode mode)
    {
        options.Curriculum = UsesCurriculum(method) ? new CurriculumOptions() : null;
        options.Gdqa = UsesGdqa(method) ? new GdqaTrainingOptions { Mode = mode } : null;
    }

    private static float Median(float[] values)
    {
        var finite = values.Where(float.IsFinite).OrderBy(v => v).ToArray();
        return finite.Length == 0 ? float.PositiveInfinity : finite[finite.Length / 2];
    }
}
