using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>
/// Rotary position embedding (rotate-half form) with cosine/sine tables for every position. The tables are derived
/// state: they are not part of the state dictionary and follow the inputs' device.
/// </summary>
public sealed class RotaryEmbedding : nn.Module
{
    // Held in an array so that module registration does not turn them into saved buffers.
    private readonly Tensor[] _tables;

    /// <summary>Creates the tables.</summary>
    /// <param name="headDim">Per-head width (even).</param>
    /// <param name="maxPositions">Number of positions.</param>
    /// <param name="theta">Rotary base.</param>
    public RotaryEmbedding(int headDim, int maxPositions, double theta)
        : base(nameof(RotaryEmbedding))
    {
        using var scope = NewDisposeScope();
        var inv = 1.0 / pow(theta, arange(0, headDim, 2, dtype: float64) / headDim);
        var angles = outer(arange(maxPositions, dtype: float64), inv).to_type(float32);
        // Full-width tables for the rotate-half form: cos·[x1, x2] + [−sin, sin]·[x2, x1] gives (x1·cos − x2·sin,
        // x2·cos + x1·sin) with the same floating-point results as rotating the halves separately.
        var cos = angles.cos();
        var sin = angles.sin();
        _tables = new[] { cat(new[] { cos, cos }, -1).DetachFromDisposeScope(), cat(new[] { sin.neg(), sin }, -1).DetachFromDisposeScope() };
    }

    /// <summary>
    /// The cosine and signed sine tables for <paramref name="positions"/> [B, T], shaped [B, 1, T, D] for broadcasting
    /// over heads: <c>[cos, cos]</c> and <c>[−sin, sin]</c> of each position's angles.
    /// </summary>
    /// <param name="positions">Position of each token.</param>
    /// <returns>Cosines and sines.</returns>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positions)
    {
        if (_tables[0].device != positions.device)
        {
            var moved = new[] { _tables[0].to(positions.device).DetachFromDisposeScope(), _tables[1].to(positions.device).DetachFromDisposeScope() };
            _tables[0].Dispose();
            _tables[1].Dispose();
            _tables[0] = moved[0];
            _tables[1] = moved[1];
        }

        var flat = positions.flatten();
        var cos = _tables[0].index_select(0, flat).view(positions.shape[0], 1, positions.shape[1], -1);
        var sin = _tables[1].index_select(0, flat).view(positions.shape[0], 1, positions.shape[1], -1);
        return (cos, sin);
    }

    /// <summary>Rotates <paramref name="x"/> [B, H, T, D] by precomputed angles (see <see cref="Angles"/>).</summary>
    /// <param name="x">Queries or keys.</param>
    /// <param name="angles">Cosines and signed sines [B, 1, T, D].</param>
    /// <returns>The rotated tensor.</returns>
    public static Tensor Apply(Tensor x, (Tensor Cos, Tensor Sin) angles)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var swapped = cat(new[] { x.narrow(-1, half, half), x.narrow(-1, 0, half) }, -1);
        return (x * angles.Cos).Plus(swapped * angles.Sin).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tables[0].Dispose();
            _tables[1].Dispose();
        }

        base.Dispose(disposing);
    }
}
