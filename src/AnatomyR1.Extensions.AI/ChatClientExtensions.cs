using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.Extensions.AI;

namespace AnatomyR1.Extensions.AI;

/// <summary>Turns AnatomyR1 policies and trained models into <see cref="IChatClient"/>s.</summary>
public static class ChatClientExtensions
{
    /// <summary>The policy as a chat client (the caller keeps owning the policy unless <see cref="AnatomyR1ChatClientOptions.DisposePolicy"/> is set).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">Settings; null takes the defaults.</param>
    /// <returns>The client.</returns>
    public static IChatClient AsChatClient(this IVisionLanguagePolicy policy, AnatomyR1ChatClientOptions? options = null) => new AnatomyR1ChatClient(policy, options);

    /// <summary>
    /// A trained transformer (the last step of a fitted GRPO or warm-start pipeline) as a chat client that answers with
    /// the transformer's policy, answer extraction, answer length and sampling settings. The transformer keeps owning
    /// the policy.
    /// </summary>
    /// <param name="transformer">The transformer.</param>
    /// <param name="modelId">The model id to report; null keeps the default.</param>
    /// <returns>The client.</returns>
    public static IChatClient AsChatClient(this VlmTransformer transformer, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        var defaults = new AnatomyR1ChatClientOptions();
        return new AnatomyR1ChatClient(transformer.Policy, defaults with
        {
            ModelId = modelId ?? defaults.ModelId,
            MaxOutputTokens = transformer.Generation.MaxNewTokens,
            Temperature = transformer.Generation.Temperature,
            TopK = transformer.Generation.TopK,
            TopP = transformer.Generation.TopP,
            Seed = transformer.Generation.Seed,
            AnswerExtraction = transformer.Strategy,
        });
    }
}
