using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Sampled completions, prompt-major (row p·G + g is completion g of prompt p): token ids right-padded [N, T], mask
/// (1 up to and including the end token), the log-probability of each sampled token under the temperature-scaled
/// policy, and which completions hit <see cref="GenerationOptions.MaxNewTokens"/> without an end token.
/// </summary>
public sealed class GenerationResult : IDisposable
{
    /// <summary>Creates a result.</summary>
    /// <param name="completions">Ids and mask.</param>
    /// <param name="logProbs">Log-probabilities [N, T] (0 on padding).</param>
    /// <param name="truncated">Per completion: no end token within the limit.</param>
    /// <param name="texts">Decoded completions.</param>
    public GenerationResult(TokenBatch completions, Tensor logProbs, IReadOnlyList<bool> truncated, IReadOnlyList<string> texts)
    {
        Completions = completions;
        LogProbs = logProbs;
        Truncated = truncated;
        Texts = texts;
    }

    /// <summary>Completion ids and mask.</summary>
    public TokenBatch Completions { get; }

    /// <summary>Per-token log-probabilities of the sampled tokens.</summary>
    public Tensor LogProbs { get; }

    /// <summary>Which completions were cut off.</summary>
    public IReadOnlyList<bool> Truncated { get; }

    /// <summary>The decoded completions.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>Moves the result's tensors to the dispose scope outside the current one (for a policy that generates inside its own scope).</summary>
    /// <returns>This result.</returns>
    public GenerationResult MoveToOuterDisposeScope()
    {
        Completions.Ids.MoveToOuterDisposeScope();
        Completions.Mask.MoveToOuterDisposeScope();
        LogProbs.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Completions.Dispose();
        LogProbs.Dispose();
    }
}
