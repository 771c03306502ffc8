namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Chooses which training prompts a GRPO step uses. Draws are a pure function of the step, the attempt and the
/// sampler's own settings, so a resumed run draws exactly what the uninterrupted run drew (no hidden state).
/// </summary>
public interface IGrpoPromptSampler
{
    /// <summary>Draws prompt indices.</summary>
    /// <param name="step">The 1-based optimiser step the draw is for.</param>
    /// <param name="attempt">0 for the batch, 1, 2, … for dynamic-sampling rounds.</param>
    /// <param name="count">How many prompts.</param>
    /// <returns>Indices into the training examples.</returns>
    IReadOnlyList<int> Draw(int step, int attempt, int count);

    /// <summary>Metrics the sampler reports at a step (for example a curriculum's pool fraction); may be empty.</summary>
    /// <param name="step">The step.</param>
    /// <returns>Metric names and values.</returns>
    IReadOnlyDictionary<string, double> Metrics(int step);
}
