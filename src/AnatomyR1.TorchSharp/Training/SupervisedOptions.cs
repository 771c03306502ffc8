namespace AnatomyR1.TorchSharp.Training;

/// <summary>Options of supervised fine-tuning (the warm start). Every field has a documented default.</summary>
public sealed class SupervisedOptions
{
    /// <summary>Optimiser steps. Default 1,000.</summary>
    public int Steps { get; set; } = 1000;

    /// <summary>Examples per step. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>AdamW learning rate of the language model. Default 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>AdamW learning rate of the image encoder. Default 2e-3.</summary>
    public double VisionLearningRate { get; set; } = 2e-3;

    /// <summary>AdamW weight decay. Default 0.01.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Linear warm-up steps. Default 20.</summary>
    public int WarmupSteps { get; set; } = 20;

    /// <summary>Cosine decay to this fraction of the learning rate by the last step; 1 keeps it constant. Default 0.1.</summary>
    public double FinalLearningRateFraction { get; set; } = 0.1;

    /// <summary>Gradient norm clip; 0 disables. Default 1.</summary>
    public double MaxGradientNorm { get; set; } = 1.0;

    /// <summary>Seed of example sampling. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>
    /// Share of each batch replaced by <see cref="OptionDrill"/> examples built from the batch's own options (text only,
    /// blank image). Default 0.5.
    /// </summary>
    public double DrillFraction { get; set; } = 0.5;

    /// <summary>Report progress every this many steps. Default 10.</summary>
    public int ReportEvery { get; set; } = 10;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1 || LearningRate <= 0 || VisionLearningRate <= 0 || WarmupSteps < 0 || ReportEvery < 1
            || FinalLearningRateFraction is < 0 or > 1 || DrillFraction is < 0 or > 1 || MaxGradientNorm < 0 || WeightDecay < 0)
        {
            throw new ArgumentException("Supervised options out of range: steps, batch size and report interval must be positive, learning rates positive, fractions in [0, 1].");
        }
    }
}
