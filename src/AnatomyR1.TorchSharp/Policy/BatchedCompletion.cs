using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Generates one completion per (image, prompt) pair in batches, in input order.</summary>
public static class BatchedCompletion
{
    /// <summary>Runs the policy over inputs whose images are files.</summary>
    /// <param name="policy">The policy (switched to evaluation mode).</param>
    /// <param name="inputs">Image files and prompt texts.</param>
    /// <param name="options">Generation settings (one completion per input is used).</param>
    /// <param name="batchSize">Inputs per generation call.</param>
    /// <returns>The completions, in input order.</returns>
    public static IReadOnlyList<string> Run(IVisionLanguagePolicy policy, IReadOnlyList<(string ImagePath, string Prompt)> inputs, GenerationOptions options, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Run(policy, inputs.Select(i => (PolicyImage.FromFile(i.ImagePath), i.Prompt)).ToList(), options, batchSize);
    }

    /// <summary>Runs the policy over inputs with images of any source and size (prepared by the policy's image processor one batch at a time).</summary>
    /// <param name="policy">The policy (switched to evaluation mode).</param>
    /// <param name="inputs">Images and prompt texts.</param>
    /// <param name="options">Generation settings (one completion per input is used).</param>
    /// <param name="batchSize">Inputs per generation call.</param>
    /// <returns>The completions, in input order.</returns>
    public static IReadOnlyList<string> Run(IVisionLanguagePolicy policy, IReadOnlyList<(PolicyImage Image, string Prompt)> inputs, GenerationOptions options, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        }

        var completions = new List<string>(inputs.Count);
        policy.SetTraining(false);
        for (int start = 0; start < inputs.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var batch = inputs.Skip(start).Take(batchSize).ToList();
            using var images = policy.ImageProcessor.Collate(batch.Select(b => policy.ImageProcessor.Prepare(b.Image)).ToList(), policy.Device);
            using var prompts = policy.EncodePrompts(batch.Select(b => b.Prompt).ToList());
            using var result = policy.Generate(images, prompts, options with { NumReturnSequences = 1 });
            completions.AddRange(result.Texts);
        }

        return completions;
    }
}
