using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The sampling loop every policy shares: temperature, top-k and top-p sampling from next-token logits on the device,
/// end-of-sequence handling with on-device masks, per-token callbacks, and assembling a <see cref="GenerationResult"/>.
/// A policy supplies the prefill logits and a function that feeds the chosen tokens back through its KV cache.
/// </summary>
/// <remarks>
/// The loop creates no temporary libtorch <see cref="Scalar"/> (see <see cref="FixedScalars"/>), so it needs no no-GC
/// region, and it reads a value back from the device only every <see cref="GenerationOptions.EndCheckInterval"/>
/// tokens (to stop once every row has ended), for a streaming callback, and once at the end.
/// </remarks>
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

        if (options.IntraOpThreads < 0 || options.EndCheckInterval < 0)
        {
            throw new ArgumentException($"IntraOpThreads ({options.IntraOpThreads}) and EndCheckInterval ({options.EndCheckInterval}) must not be negative.", nameof(options));
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
    /// <param name="keepRows">
    /// Optional: lets the loop drop rows that have ended from the model's batch. Called with the indices [A] (int64,
    /// ascending) of the rows, among those currently decoded, that keep decoding; the policy keeps only those rows of
    /// its KV cache, and <paramref name="decodeNext"/> is then given (and returns) those rows only. Sampling still runs
    /// over all N rows, so the random draws, and the completions, are those of decoding every row to the end. Null
    /// decodes every row until all have ended.
    /// </param>
    /// <returns>The completions.</returns>
    public static GenerationResult Run(IVisionLanguagePolicy policy, Tensor firstLogits, Func<Tensor, Tensor> decodeNext, GenerationOptions options, Func<int, bool>? onToken = null, Action<Tensor>? keepRows = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(firstLogits);
        ArgumentNullException.ThrowIfNull(decodeNext);
        ArgumentNullException.ThrowIfNull(options);
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        var device = firstLogits.device;
        using var sampler = new TokenSampler(options, device);
        using var pad = ((long)policy.PadId).ToScalar();
        using var eos = ((long)policy.EosId).ToScalar();
        int interval = onToken is not null ? 1 : options.EndCheckInterval > 0 ? options.EndCheckInterval : device.type == DeviceType.CPU ? 1 : 16;
        var logits = firstLogits;
        long n = logits.shape[0];
        var tokens = new List<Tensor>(options.MaxNewTokens);
        var logProbs = new List<Tensor>(options.MaxNewTokens);
        var alive = new List<Tensor>(options.MaxNewTokens);
        var finished = zeros(n, dtype: ScalarType.Bool, device: device);
        Tensor? active = null;
        Tensor? fullLogits = null;
        long decoded = n;
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            using (var stepScope = NewDisposeScope())
            {
                var (next, lp) = sampler.Sample(logits);
                next.masked_fill_(finished, pad);
                lp.masked_fill_(finished, FixedScalars.FloatZero);
                alive.Add(finished.logical_not().MoveToOuterDisposeScope());
                tokens.Add(next.MoveToOuterDisposeScope());
                logProbs.Add(lp.MoveToOuterDisposeScope());
                finished.logical_or_(next.eq(eos));
            }

            var last = tokens[^1];
            if (onToken is not null && !onToken((int)last.item<long>()))
            {
                break;
            }

            bool check = (step + 1) % interval == 0;
            long ended = check ? finished.sum().item<long>() : 0;
            if (step == options.MaxNewTokens - 1 || (check && ended == n))
            {
                break;
            }

            long remaining = n - ended;
            if (check && keepRows is not null && remaining > 0 && (decoded - remaining) * (options.MaxNewTokens - step - 1L) > remaining)
            {
                // Keep decoding only the rows that have not ended, when that saves more work than it costs: dropping
                // r rows saves about r row-steps per remaining step, while the cache copy costs about one row-step
                // per kept row.
                using var compactScope = NewDisposeScope();
                var stillAlive = (active is null ? finished : finished.index_select(0, active)).logical_not();
                var local = stillAlive.nonzero().squeeze(1);
                keepRows(local);
                var kept = (active is null ? local : active.index_select(0, local)).MoveToOuterDisposeScope();
                active?.Dispose();
                active = kept;
                decoded = remaining;
                if (fullLogits is null)
                {
                    fullLogits = logits.clone().MoveToOuterDisposeScope();
                }
            }

            var previous = logits;
            using (var decodeScope = NewDisposeScope())
            {
                if (active is null)
                {
                    logits = decodeNext(last.unsqueeze(1)).MoveToOuterDisposeScope();
                }
                else
                {
                    // Rows that have ended keep their last logits: they are sampled (so the draws stay aligned) and masked.
                    fullLogits!.index_copy_(0, active, decodeNext(last.index_select(0, active).unsqueeze(1)));
                    logits = fullLogits;
                }
            }

            if (!ReferenceEquals(previous, firstLogits) && !ReferenceEquals(previous, logits) && !ReferenceEquals(previous, fullLogits))
            {
                previous.Dispose();
            }
        }

        var idTensor = stack(tokens, 1);
        var maskTensor = stack(alive, 1).to_type(ScalarType.Int64);
        var lpTensor = stack(logProbs, 1);
        // Steps taken after every row had ended (between two checks) hold only padding: drop them.
        int width = (int)maskTensor.sum(1).max().item<long>();
        if (width < idTensor.shape[1])
        {
            idTensor = idTensor.narrow(1, 0, width).contiguous();
            maskTensor = maskTensor.narrow(1, 0, width).contiguous();
            lpTensor = lpTensor.narrow(1, 0, width).contiguous();
        }

        var truncated = finished.logical_not().cpu().data<bool>().ToArray();
        long[] flat = idTensor.cpu().data<long>().ToArray();
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
        using var sampler = new TokenSampler(options, logits.device, generator);
        return sampler.Sample(logits);
    }

    /// <summary>Batched sampling on the device with the scalars it needs held (and released) explicitly.</summary>
    private sealed class TokenSampler : IDisposable
    {
        private readonly GenerationOptions _options;
        private readonly Generator? _generator;
        private readonly bool _ownsGenerator;
        private readonly Scalar _temperature;
        private readonly Scalar _topP;

        public TokenSampler(GenerationOptions options, Device device, Generator? generator = null)
        {
            _options = options;
            _ownsGenerator = generator is null && options.Seed is long;
            _generator = generator ?? (options.Seed is long seed ? new Generator((ulong)seed, device) : null);
            _temperature = options.Temperature.ToScalar();
            _topP = options.TopP.ToScalar();
        }

        public (Tensor Token, Tensor LogProb) Sample(Tensor logits)
        {
            if (_options.Temperature <= 0)
            {
                var greedy = logits.argmax(-1);
                var lpGreedy = logits.log_softmax(-1).gather(1, greedy.unsqueeze(1)).squeeze(1);
                return (greedy, lpGreedy);
            }

            // Dividing by 1 changes no bit: skip the operation.
            var scaled = _options.Temperature == 1.0 ? logits : logits.div(_temperature);
            var logProbs = scaled.log_softmax(-1);
            var filtered = scaled;
            if (_options.TopK > 0 && _options.TopK < scaled.shape[1])
            {
                var (top, _) = scaled.topk(_options.TopK, -1, true, true);
                filtered = filtered.masked_fill(filtered.lt(top.narrow(1, _options.TopK - 1, 1)), FixedScalars.NegativeInfinity);
            }

            if (_options.TopP < 1.0)
            {
                var (sorted, order) = filtered.sort(-1, true, false);
                var probs = sorted.softmax(-1);
                var remove = probs.cumsum(-1).Minus(probs).gt(_topP);
                sorted = sorted.masked_fill(remove, FixedScalars.NegativeInfinity);
                filtered = full_like(filtered, FixedScalars.NegativeInfinity).scatter(-1, order, sorted);
            }

            var token = filtered.softmax(-1).multinomial(1, generator: _generator).squeeze(1);
            return (token, logProbs.gather(1, token.unsqueeze(1)).squeeze(1));
        }

        public void Dispose()
        {
            _temperature.Dispose();
            _topP.Dispose();
            if (_ownsGenerator)
            {
                _generator?.Dispose();
            }
        }
    }
}
