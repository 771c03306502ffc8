using AnatomyR1.TorchSharp.Runtime;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The sampling loop every policy shares: temperature, top-k and top-p sampling from next-token logits, end-of-sequence
/// handling, per-token callbacks, and assembling a <see cref="GenerationResult"/>. A policy supplies the prefill
/// logits and a function that feeds the chosen tokens back through its KV cache.
/// </summary>
public static class Decoding
{
    /// <summary>Checks generation options and the callback rule.</summary>
    /// <param name="options">The options.</param>
    /// <param name="prompts">Prompt rows.</param>
    /// <param name="onToken">The token callback, or null.</param>
    /// <exception cref="ArgumentException">An option is out of range, or a callback is given with more than one prompt or return sequence.</exception>
    public static void Validate(GenerationOptions options, long prompts, Func<int, bool>? onToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NumReturnSequences < 1 || options.MaxNewTokens < 1)
        {
            throw new ArgumentException("NumReturnSequences and MaxNewTokens must be at least 1.", nameof(options));
        }

        if (onToken is not null && (prompts != 1 || options.NumReturnSequences != 1))
        {
            throw new ArgumentException($"Token callbacks need one prompt and one return sequence (got {prompts} prompts, {options.NumReturnSequences} sequences).", nameof(options));
        }
    }

    /// <summary>
    /// Runs the sampling loop (no gradient; call inside <c>no_grad</c>). Rows that have produced the end token keep
    /// producing padding with mask 0.
    /// </summary>
    /// <param name="policy">The policy (for its end and padding ids and decoding).</param>
    /// <param name="firstLogits">Next-token logits after the prompts [N, V] (already expanded to N = B·G rows).</param>
    /// <param name="decodeNext">Feeds chosen tokens [N, 1] through the model and returns the next logits [N, V].</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="onToken">Per-token callback (one row only), or null.</param>
    /// <returns>The completions.</returns>
    public static GenerationResult Run(IVisionLanguagePolicy policy, Tensor firstLogits, Func<Tensor, Tensor> decodeNext, GenerationOptions options, Func<int, bool>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(firstLogits);
        ArgumentNullException.ThrowIfNull(decodeNext);
        ArgumentNullException.ThrowIfNull(options);
        using var quiet = GcQuietRegion.Enter();
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        var device = firstLogits.device;
        using var generator = options.Seed is long seed ? new Generator((ulong)seed, device) : null;
        var logits = firstLogits;
        long n = logits.shape[0];
        var tokens = new List<Tensor>();
        var logProbs = new List<Tensor>();
        var masks = new List<Tensor>();
        var finished = zeros(n, dtype: ScalarType.Bool, device: device);
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var (next, lp) = SampleNext(logits, options, generator);
            next = next.masked_fill(finished, policy.PadId);
            lp = lp.masked_fill(finished, 0f);
            var alive = finished.logical_not();
            tokens.Add(next.MoveToOuterDisposeScope());
            logProbs.Add(lp.MoveToOuterDisposeScope());
            masks.Add(alive.to_type(ScalarType.Int64).MoveToOuterDisposeScope());
            finished = (finished | next.eq(policy.EosId)).MoveToOuterDisposeScope();
            if (onToken is not null && !onToken((int)next.item<long>()))
            {
                break;
            }

            if (finished.all().item<bool>())
            {
                break;
            }

            logits = decodeNext(next.unsqueeze(1)).MoveToOuterDisposeScope();
        }

        var idTensor = stack(tokens, 1);
        var maskTensor = stack(masks, 1);
        var lpTensor = stack(logProbs, 1);
        var truncated = finished.logical_not().cpu().data<bool>().ToArray();
        long[] flat = idTensor.cpu().data<long>().ToArray();
        int width = (int)idTensor.shape[1];
        var texts = Enumerable.Range(0, (int)n).Select(r => policy.Decode(flat.Skip(r * width).Take(width).Select(v => (int)v))).ToList();
        return new GenerationResult(
            new TokenBatch(idTensor.MoveToOuterDisposeScope(), maskTensor.MoveToOuterDisposeScope()),
            lpTensor.MoveToOuterDisposeScope(), truncated, texts);
    }

    /// <summary>Draws one token per row from logits [N, V] (greedy when the temperature is 0) and its log-probability under the temperature-scaled distribution.</summary>
    /// <param name="logits">The logits.</param>
    /// <param name="options">Temperature, top-k and top-p.</param>
    /// <param name="generator">The seeded generator, or null for libtorch's global one.</param>
    /// <returns>Tokens [N] and log-probabilities [N].</returns>
    public static (Tensor Token, Tensor LogProb) SampleNext(Tensor logits, GenerationOptions options, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Temperature <= 0)
        {
            var greedy = logits.argmax(-1);
            var lpGreedy = logits.log_softmax(-1).gather(1, greedy.unsqueeze(1)).squeeze(1);
            return (greedy, lpGreedy);
        }

        var scaled = logits / options.Temperature;
        var logProbs = scaled.log_softmax(-1);
        var filtered = scaled;
        if (options.TopK > 0 && options.TopK < scaled.shape[1])
        {
            var (top, _) = scaled.topk(options.TopK, -1, true, true);
            filtered = filtered.masked_fill(filtered < top.narrow(1, options.TopK - 1, 1), float.NegativeInfinity);
        }

        if (options.TopP < 1.0)
        {
            var (sorted, order) = filtered.sort(-1, true, false);
            var probs = sorted.softmax(-1);
            var remove = (probs.cumsum(-1) - probs) > options.TopP;
            sorted = sorted.masked_fill(remove, float.NegativeInfinity);
            filtered = full_like(filtered, float.NegativeInfinity).scatter(-1, order, sorted);
        }

        var token = filtered.softmax(-1).multinomial(1, generator: generator).squeeze(1);
        return (token, logProbs.gather(1, token.unsqueeze(1)).squeeze(1));
    }
}
