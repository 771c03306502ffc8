using AnatomyR1.Curriculum;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training;

namespace AnatomyR1;

/// <summary>TorchSharp estimators on <see cref="AnatomyR1Catalog"/> (<c>mlContext.AnatomyR1()</c>).</summary>
public static class VlmCatalogExtensions
{
    /// <summary>Supervised warm start of the small vision-language policy (see <see cref="VlmSupervisedTrainer"/>).</summary>
    /// <param name="catalog">The AnatomyR1 catalog.</param>
    /// <param name="steps">Optimiser steps.</param>
    /// <param name="batchSize">Examples per step.</param>
    /// <param name="learningRate">Language-model learning rate (the image encoder gets twice this).</param>
    /// <param name="seed">Seed of the weights and of example sampling.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <returns>The estimator.</returns>
    public static VlmSupervisedTrainer SupervisedWarmStart(this AnatomyR1Catalog catalog, int steps = 1000, int batchSize = 32,
        double learningRate = 1e-3, int seed = 0, string device = "auto")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VlmSupervisedTrainer(new VlmSupervisedTrainerOptions
        {
            Training = new SupervisedOptions { Steps = steps, BatchSize = batchSize, LearningRate = learningRate, VisionLearningRate = 2 * learningRate, Seed = seed },
            InitializationSeed = seed,
            Device = device,
        });
    }

    /// <summary>Supervised warm start with full options.</summary>
    /// <param name="catalog">The AnatomyR1 catalog.</param>
    /// <param name="options">The options.</param>
    /// <returns>The estimator.</returns>
    public static VlmSupervisedTrainer SupervisedWarmStart(this AnatomyR1Catalog catalog, VlmSupervisedTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VlmSupervisedTrainer(options);
    }

    /// <summary>
    /// GRPO of the vision-language policy (see <see cref="GrpoTrainer"/>), starting from the built-in warm-started
    /// checkpoint unless <paramref name="initialPolicyFolder"/> is given.
    /// </summary>
    /// <param name="catalog">The AnatomyR1 catalog.</param>
    /// <param name="steps">Optimiser steps.</param>
    /// <param name="batchSize">Prompts per step (B).</param>
    /// <param name="numGenerations">Completions per prompt (G).</param>
    /// <param name="learningRate">Learning rate (image encoder and language model).</param>
    /// <param name="beta">KL weight β (0 skips the reference model).</param>
    /// <param name="seed">Seed of prompt sampling and rollouts.</param>
    /// <param name="pixelsColumn">Read images from this ExtractPixels column instead of <c>ImagePath</c>; null reads paths.</param>
    /// <param name="initialPolicyFolder">Start from this saved policy; null uses the built-in checkpoint.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <returns>The estimator.</returns>
    public static GrpoTrainer Grpo(this AnatomyR1Catalog catalog, int steps = 200, int batchSize = 8, int numGenerations = 8, double learningRate = 1e-4,
        double beta = 0.04, int seed = 0, string? pixelsColumn = null, string? initialPolicyFolder = null, string device = "auto")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GrpoTrainer(catalog.Context, new GrpoTrainerOptions
        {
            Grpo = new AnatomyR1.TorchSharp.Training.Grpo.GrpoOptions
            {
                Steps = steps, BatchSize = batchSize, NumGenerations = numGenerations, LearningRate = learningRate, VisionLearningRate = learningRate, Beta = beta, Seed = seed,
            },
            ImageInput = pixelsColumn is null ? VlmImageInput.Paths : VlmImageInput.FromPixels(pixelsColumn),
            InitialPolicyFolder = initialPolicyFolder,
            Device = device,
        });
    }

    /// <summary>GRPO with full options (see <see cref="GrpoTrainer"/>).</summary>
    /// <param name="catalog">The AnatomyR1 catalog.</param>
    /// <param name="options">The options.</param>
    /// <returns>The estimator.</returns>
    public static GrpoTrainer Grpo(this AnatomyR1Catalog catalog, GrpoTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GrpoTrainer(catalog.Context, options);
    }

    /// <summary>
    /// Scores S(q) and the curriculum stage with the policy's own token embeddings (<see cref="PolicyTokenEmbedder"/>:
    /// the mean embedding of each option's tokens, copied from <paramref name="policy"/> now), the default when a
    /// model is at hand. See <see cref="AnatomicalSimilarityEstimator"/> for the columns.
    /// </summary>
    /// <param name="catalog">The AnatomyR1 catalog.</param>
    /// <param name="policy">The policy whose embeddings measure similarity (not kept).</param>
    /// <param name="aggregation">How pairs are combined into S(q).</param>
    /// <param name="stageCount">Curriculum stages K.</param>
    /// <returns>The estimator.</returns>
    public static AnatomicalSimilarityEstimator AnatomicalSimilarity(this AnatomyR1Catalog catalog, IVisionLanguagePolicy policy,
        SimilarityAggregation aggregation = SimilarityAggregation.MeanToAnswer, int stageCount = 3)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.AnatomicalSimilarity(new PolicyTokenEmbedder(policy), aggregation, stageCount);
    }
}
