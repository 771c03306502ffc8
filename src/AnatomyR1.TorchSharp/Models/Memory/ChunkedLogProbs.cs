using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Memory;

/// <summary>
/// Per-position log-probabilities of given tokens, log softmax(H Wᵀ / τ)[y], and the entropy of the same
/// distributions, computed a chunk of positions at a time so that the full [N, V] logits never exist: at most
/// [chunk, V] logits (and two tensors of that size) are alive at once, in the forward pass and again in the
/// backward pass, which recomputes each chunk's logits to form the gradients of H and W.
/// </summary>
/// <remarks>
/// The logits are computed in the dtype of <c>hidden</c> and <c>weight</c> and converted to float32 before the
/// temperature and the softmax, as a float32 projection followed by <c>log_softmax</c> would; the results are float32.
/// The gradient of the weight is accumulated over chunks in the weight's dtype.
/// </remarks>
public static class ChunkedLogProbs
{
    /// <summary>The default number of positions per chunk.</summary>
    public const int DefaultChunkSize = 1024;

    /// <summary>Log-probabilities of <paramref name="targets"/> and the entropies, chunk by chunk.</summary>
    /// <param name="hidden">[N, d] hidden states of the positions to score.</param>
    /// <param name="weight">[V, d] output projection (the tied embeddings or the output head's weight).</param>
    /// <param name="targets">[N] token ids.</param>
    /// <param name="temperature">Logit temperature; values ≤ 0 and 1 leave the logits unscaled.</param>
    /// <param name="chunkSize">Positions per chunk.</param>
    /// <returns>
    /// [N] float32 log-probabilities, differentiable with respect to <paramref name="hidden"/> and
    /// <paramref name="weight"/>, and [N] float32 entropies without gradient.
    /// </returns>
    /// <exception cref="ArgumentException">Shapes do not fit together, or the chunk size is not positive.</exception>
    public static (Tensor LogProbs, Tensor Entropy) LogProbsAndEntropy(Tensor hidden, Tensor weight, Tensor targets, double temperature = 1.0, int chunkSize = DefaultChunkSize)
    {
        var entropy = new EntropySlot();
        var logProbs = Run(hidden, weight, targets, temperature, chunkSize, entropy);
        return (logProbs, entropy.Value!);
    }

    /// <summary>Log-probabilities of <paramref name="targets"/>, chunk by chunk (no entropy).</summary>
    /// <param name="hidden">[N, d] hidden states of the positions to score.</param>
    /// <param name="weight">[V, d] output projection.</param>
    /// <param name="targets">[N] token ids.</param>
    /// <param name="temperature">Logit temperature; values ≤ 0 and 1 leave the logits unscaled.</param>
    /// <param name="chunkSize">Positions per chunk.</param>
    /// <returns>[N] float32 log-probabilities, differentiable with respect to <paramref name="hidden"/> and <paramref name="weight"/>.</returns>
    /// <exception cref="ArgumentException">Shapes do not fit together, or the chunk size is not positive.</exception>
    public static Tensor LogProbs(Tensor hidden, Tensor weight, Tensor targets, double temperature = 1.0, int chunkSize = DefaultChunkSize) =>
        Run(hidden, weight, targets, temperature, chunkSize, entropy: null);

    private static Tensor Run(Tensor hidden, Tensor weight, Tensor targets, double temperature, int chunkSize, EntropySlot? entropy)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(targets);
        if (hidden.dim() != 2 || weight.dim() != 2 || hidden.shape[1] != weight.shape[1])
        {
            throw new ArgumentException($"Hidden states [N, d] and weight [V, d] expected; got [{string.Join(", ", hidden.shape)}] and [{string.Join(", ", weight.shape)}].", nameof(hidden));
        }

        if (targets.dim() != 1 || targets.shape[0] != hidden.shape[0])
        {
            throw new ArgumentException($"Targets [{hidden.shape[0]}] expected; got [{string.Join(", ", targets.shape)}].", nameof(targets));
        }

        if (chunkSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "The chunk size must be positive.");
        }

        AutogradHandoff.Release();
        double scale = temperature > 0 && temperature != 1.0 ? temperature : 1.0;
        using var scope = NewDisposeScope();
        var ids = targets.to(ScalarType.Int64, hidden.device);
        Tensor logProbs;
        if (is_grad_enabled() && (hidden.requires_grad || weight.requires_grad))
        {
            logProbs = LogProbFunction.apply(new LogProbState(scale, chunkSize, hidden.requires_grad, weight.requires_grad, entropy), hidden, weight, ids);
        }
        else
        {
            using var noGrad = no_grad();
            logProbs = Forward(hidden, weight, ids, scale, chunkSize, entropy);
        }

        entropy?.Value?.MoveToOuterDisposeScope();
        return logProbs.MoveToOuterDisposeScope();
    }

    /// <summary>The forward computation (gradients off): fills the log-probabilities and, when asked, the entropies.</summary>
    private static Tensor Forward(Tensor hidden, Tensor weight, Tensor ids, double temperature, int chunkSize, EntropySlot? entropy)
    {
        long n = hidden.shape[0];
        var logProbs = empty(n, dtype: ScalarType.Float32, device: hidden.device);
        var entropies = entropy is null ? null : empty(n, dtype: ScalarType.Float32, device: hidden.device);
        for (long start = 0; start < n; start += chunkSize)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(chunkSize, n - start);
            var logits = ChunkLogits(hidden.narrow(0, start, count), weight, temperature);
            var all = logits.log_softmax(-1);
            logits.Dispose();
            logProbs.narrow(0, start, count).copy_(all.gather(1, ids.narrow(0, start, count).unsqueeze(1)).squeeze(1));
            if (entropies is not null)
            {
                var terms = all.exp();
                terms.mul_(all);
                all.Dispose();
                entropies.narrow(0, start, count).copy_(terms.sum(-1).neg_());
            }
        }

        if (entropy is not null)
        {
            entropy.Value = entropies;
        }

        return logProbs;
    }

    /// <summary>[count, V] float32 logits of a chunk, divided by the temperature.</summary>
    private static Tensor ChunkLogits(Tensor hidden, Tensor weight, double temperature)
    {
        var logits = hidden.matmul(weight.t());
        if (logits.dtype != ScalarType.Float32)
        {
            var converted = logits.to_type(ScalarType.Float32);
            logits.Dispose();
            logits = converted;
        }

        if (temperature != 1.0)
        {
            logits.div_(temperature);
        }

        return logits;
    }

    /// <summary>Receives the entropies computed by the forward pass.</summary>
    private sealed class EntropySlot
    {
        public Tensor? Value { get; set; }
    }

    /// <summary>Settings of one application of the function.</summary>
    private sealed record LogProbState(double Temperature, int ChunkSize, bool HiddenNeedsGrad, bool WeightNeedsGrad, EntropySlot? Entropy);

    /// <summary>The autograd function: arguments (state, hidden, weight, ids), one output (the log-probabilities).</summary>
    private sealed class LogProbFunction : autograd.SingleTensorFunction<LogProbFunction>
    {
        private const string StateKey = "state";

        public override string Name => nameof(ChunkedLogProbs);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var state = (LogProbState)vars[0];
            var hidden = (Tensor)vars[1];
            var weight = (Tensor)vars[2];
            var ids = (Tensor)vars[3];
            ctx.save_for_backward(new List<Tensor> { hidden, weight, ids });
            ctx.save_data(StateKey, state with { Entropy = null });
            return Forward(hidden, weight, ids, state.Temperature, state.ChunkSize, state.Entropy);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            AutogradHandoff.Release();
            var state = (LogProbState)ctx.get_data(StateKey);
            var gradients = new Tensor?[4];
            using (var scope = NewDisposeScope())
            {
                var saved = ctx.get_saved_variables();
                Tensor hidden = saved[0], weight = saved[1], ids = saved[2];
                var upstream = grad_output.to_type(ScalarType.Float32);
                long n = hidden.shape[0];
                var dHidden = state.HiddenNeedsGrad ? empty_like(hidden) : null;
                var dWeight = state.WeightNeedsGrad ? zeros_like(weight) : null;
                for (long start = 0; start < n; start += state.ChunkSize)
                {
                    using var chunkScope = NewDisposeScope();
                    long count = Math.Min(state.ChunkSize, n - start);
                    var chunk = hidden.narrow(0, start, count);
                    var logits = ChunkLogits(chunk, weight, state.Temperature);

                    // d log p[y] / d logits = onehot(y) − softmax(logits), times the incoming gradient, over τ.
                    var dLogits = logits.softmax(-1);
                    logits.Dispose();
                    var g = upstream.narrow(0, start, count).unsqueeze(1);
                    dLogits.mul_(g.neg());
                    dLogits.scatter_add_(1, ids.narrow(0, start, count).unsqueeze(1), g);
                    if (state.Temperature != 1.0)
                    {
                        dLogits.div_(state.Temperature);
                    }

                    if (dLogits.dtype != weight.dtype)
                    {
                        var converted = dLogits.to_type(weight.dtype);
                        dLogits.Dispose();
                        dLogits = converted;
                    }

                    dHidden?.narrow(0, start, count).copy_(dLogits.matmul(weight));
                    dWeight?.addmm_(dLogits.t(), chunk);
                }

                gradients[1] = AutogradHandoff.Keep(dHidden);
                gradients[2] = AutogradHandoff.Keep(dWeight);
            }

            grad_output.Dispose();
            return AutogradHandoff.Hand(gradients);
        }
    }
}
