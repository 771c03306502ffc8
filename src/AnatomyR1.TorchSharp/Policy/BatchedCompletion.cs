using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Generates one completion per (image, prompt) pair in batches, in input order.</summary>
public static class BatchedCompletion
{
    /// <summary>Runs the policy over all inputs.</summary>
    /// <param name="policy">The policy (switched to evaluation mode).</param>
    /// <param name="inputs">Image files and prompt texts.</param>
    /// <param name="options">Generation settings (one completion per input is used).</param>
    /// <param name="batchSize">Inputs per generation call.</param>
    /// <returns>The completions, in input order.</returns>
    public static IReadOnlyList<string> Run(IVisionLanguagePolicy policy, IReadOnlyList<(string ImagePath, string Prompt)> inputs, GenerationOptions options, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(inputs);
        var images = new ImageTensors(policy.ImageSize);
        return Run(policy, inputs.Select(i => ((Func<float[]>)(() => images.Load(i.ImagePath)), i.Prompt)).ToList(), options, batchSize);
    }

    /// <summary>Runs the policy over inputs whose images are given as pixels (or produced on demand).</summary>
    /// <param name="policy">The policy (switched to evaluation mode).</param>
    /// <param name="inputs">Pixel providers (3·S·S planar RGB in [0, 1]) and prompt texts.</param>
    /// <param name="options">Generation settings (one completion per input is used).</param>
    /// <param name="batchSize">Inputs per generation call.</param>
    /// <returns>The completions, in input order.</returns>
    public static IReadOnlyList<string> Run(IVisionLanguagePolicy policy, IReadOnlyList<(Func<float[]> Pixels, string Prompt)> inputs, GenerationOptions options, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        var images = new ImageTensors(policy.ImageSize);
        var completions = new List<string>(inputs.Count);
        policy.SetTraining(false);
        for (int start = 0; start < inputs.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var batch = inputs.Skip(start).Take(batchSize).ToList();
            var pixels = images.Batch(batch.Select(b => b.Pixels()).ToList(), policy.Device);
            using var prompts = policy.EncodePrompts(batch.Select(b => b.Prompt).ToList());
            using var result = policy.Generate(pixels, prompts, options with { NumReturnSequences = 1 });
            completions.AddRange(result.Texts);
        }

        return completions;
    }
}
