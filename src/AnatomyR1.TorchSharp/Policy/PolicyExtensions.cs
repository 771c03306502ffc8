namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Conveniences over <see cref="IVisionLanguagePolicy"/> that every policy gets for free.</summary>
public static class PolicyExtensions
{
    /// <summary>Number of trainable parameter values.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>The count.</returns>
    public static long TrainableParameterCount(this IVisionLanguagePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.TrainableParameters().Sum(p => p.numel());
    }

    /// <summary>The policy's prompt for a sample's question and options.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="sample">The sample.</param>
    /// <returns>The prompt.</returns>
    public static string FormatPrompt(this IVisionLanguagePolicy policy, AnatomyR1.Data.VqaSample sample)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(sample);
        return policy.FormatPrompt(sample.Question, sample.Options);
    }
}
