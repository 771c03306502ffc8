using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The four training methods as presets of the estimator chain users build themselves (used by <c>anatomy-r1 train</c>,
/// the demo and the reproduction experiment): plain GRPO, GRPO + ASCL (the S(q) curriculum), GRPO + GDQA (question
/// forms for the questions at or above the median S(q)), and Anatomy-R1 (both). Every method scores S(q) with the
/// starting policy's token embeddings (<c>AnatomicalSimilarity</c>), so the batch mean S(q) is logged for all of them;
/// the GDQA methods add <c>GroupDiversityAugment</c>; the chain ends in <see cref="GrpoTrainer"/>.
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
    /// The data preparation of a method: S(q) and its stage from the starting policy's token embeddings, then — for the
    /// GDQA methods — K question forms for the rows at or above the median S(q) (<see cref="GroupDiversityOptions.Quantile"/> 0.5).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="method">The method name.</param>
    /// <param name="startPolicy">The starting policy (its token embeddings are copied, not kept).</param>
    /// <param name="variants">K, forms per difficult question (original included).</param>
    /// <param name="seed">Seed of the forms.</param>
    /// <returns>The estimator chain.</returns>
    /// <exception cref="ArgumentException">Unknown method.</exception>
    public static IEstimator<ITransformer> Preparation(MLContext mlContext, string method, IVisionLanguagePolicy startPolicy, int variants, int seed)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        Check(method);
        var chain = new EstimatorChain<ITransformer>().Append(mlContext.AnatomyR1().AnatomicalSimilarity(startPolicy));
        return UsesGdqa(method)
            ? chain.Append(mlContext.AnatomyR1().GroupDiversityAugment(new GroupDiversityOptions { VariantCount = variants, Seed = seed }))
            : chain;
    }

    /// <summary>The GRPO trainer of a method: <paramref name="options"/> with the method's curriculum (default pacing) and GDQA settings.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="method">The method name.</param>
    /// <param name="options">Trainer options; its <see cref="GrpoTrainerOptions.Grpo"/> is changed by <see cref="Configure"/>.</param>
    /// <param name="mode">GDQA mode for the GDQA methods.</param>
    /// <returns>The trainer estimator.</returns>
    public static GrpoTrainer Trainer(MLContext mlContext, string method, GrpoTrainerOptions options, GdqaMode mode)
    {
        ArgumentNullException.ThrowIfNull(options);
        Configure(method, options.Grpo, mode);
        return mlContext.AnatomyR1().Grpo(options);
    }

    /// <summary>The whole chain of a method: <see cref="Preparation"/> then <see cref="Trainer"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="method">The method name.</param>
    /// <param name="startPolicy">The starting policy whose token embeddings score S(q) (the trainer loads its own copy from <see cref="GrpoTrainerOptions.InitialPolicyFolder"/>).</param>
    /// <param name="options">Trainer options.</param>
    /// <param name="variants">K for the GDQA methods.</param>
    /// <param name="seed">Seed of the forms.</param>
    /// <param name="mode">GDQA mode.</param>
    /// <returns>The estimator chain ending in the GRPO trainer.</returns>
    public static IEstimator<ITransformer> Pipeline(MLContext mlContext, string method, IVisionLanguagePolicy startPolicy, GrpoTrainerOptions options, int variants, int seed, GdqaMode mode = GdqaMode.Static) =>
        Preparation(mlContext, method, startPolicy, variants, seed).Append(Trainer(mlContext, method, options, mode));

    /// <summary>Sets the method's curriculum (default pacing) and GDQA options on <paramref name="options"/>.</summary>
    /// <param name="method">The method name.</param>
    /// <param name="options">The GRPO options to change.</param>
    /// <param name="mode">GDQA mode for the GDQA methods.</param>
    public static void Configure(string method, GrpoOptions options, GdqaMode mode)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check(method);
        options.Curriculum = UsesCurriculum(method) ? new CurriculumOptions() : null;
        options.Gdqa = UsesGdqa(method) ? new GdqaTrainingOptions { Mode = mode } : null;
    }

    private static void Check(string method)
    {
        if (!All.Contains(method))
        {
            throw new ArgumentException($"Unknown training method '{method}'; use {string.Join(", ", All)}.", nameof(method));
        }
    }
}
