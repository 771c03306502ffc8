using AnatomyR1.TorchSharp.Lora;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>
/// One or several bias-free projections of the same input computed as one matrix product, for passes without
/// gradient (generation): the weights are concatenated and laid out transposed ([in, out], contiguous) once per call
/// of <see cref="Fuse"/>, and the product's columns split back. Each output element is the same dot product either
/// way; on this project's libtorch (MKL) the result is bitwise identical to the separate <c>Linear</c> calls, which the
/// recorded-completions tests check, while the product skips re-laying out the weight on every call (the dominant
/// cost of a small batch). Linear layers with a bias or a LoRA adapter (whose forward hook must run) are never fused.
/// </summary>
internal sealed class FusedProjection
{
    private readonly Linear[] _parts;
    private readonly Func<Tensor>? _table;
    private readonly object _gate = new();
    private Tensor? _weight;
    private int _users;

    public FusedProjection(params Linear[] parts) => _parts = parts;

    /// <summary>A projection onto the rows of a weight table (tied output embeddings: <c>x · tableᵀ</c>).</summary>
    public FusedProjection(Func<Tensor> table)
    {
        _parts = Array.Empty<Linear>();
        _table = table;
    }

    /// <summary>The fused, transposed weight [in, Σ out] while fused and gradients are off, else null (use the separate layers): <c>x.matmul(Weight)</c>.</summary>
    public Tensor? Weight => !is_grad_enabled() ? _weight : null;

    /// <summary>
    /// Concatenates the weights (if every part is eligible); dispose the result to unfuse. Counted, so that
    /// generations running at the same time on one model share the fused weight until the last one ends.
    /// </summary>
    public IDisposable? Fuse()
    {
        lock (_gate)
        {
            if (_parts.Any(p => p.bias is not null || LoraAdapters.HasAdapter(p)))
            {
                return null;
            }

            if (_users++ == 0)
            {
                using (no_grad())
                {
                    using var joined = _table is not null ? _table().alias() : cat(_parts.Select(p => (Tensor)p.weight!).ToArray(), 0);
                    _weight = joined.t().contiguous().DetachFromDisposeScope();
                }
            }

            return new Unfuse(this);
        }
    }

    /// <summary>One disposer for the unfusers of several projections (null entries are projections that were not fused).</summary>
    /// <param name="unfusers">The unfusers.</param>
    /// <returns>A disposer that unfuses them all.</returns>
    public static IDisposable Together(IEnumerable<IDisposable?> unfusers) => new All(unfusers.OfType<IDisposable>().ToList());

    private sealed class All(List<IDisposable> parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts)
            {
                part.Dispose();
            }

            parts.Clear();
        }
    }

    private sealed class Unfuse(FusedProjection owner) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            lock (owner._gate)
            {
                if (_done)
                {
                    return;
                }

                _done = true;
                if (--owner._users == 0)
                {
                    owner._weight?.Dispose();
                    owner._weight = null;
                }
            }
        }
    }
}
