using AnatomyR1.TorchSharp.Estimators;
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
}
