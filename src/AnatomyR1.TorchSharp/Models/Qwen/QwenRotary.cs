using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Rotary embeddings of Qwen2.5-VL: the decoder's multimodal RoPE (three position axes — temporal, height, width —
/// each driving its own group of channel pairs, <c>mrope_section</c>) and the vision tower's 2-D frequencies.
/// Angles are computed in float32 as in the reference.
/// </summary>
public static class QwenRotary
{
    /// <summary><c>cat(−x₂, x₁)</c> over the last dimension.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The rotated halves.</returns>
    public static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        return cat(new[] { x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half) }, -1);
    }

    /// <summary>Inverse frequencies <c>1 / θ^(2i/dim)</c> for i in [0, dim/2), in float32.</summary>
    /// <param name="dim">The rotated width.</param>
    /// <param name="theta">The base θ.</param>
    /// <param name="device">Where to create them.</param>
    /// <returns>[dim / 2].</returns>
    public static Tensor InverseFrequencies(int dim, double theta, Device? device = null)
    {
        using var scope = NewDisposeScope();
        using var start = 0.ToScalar();
        using var stop = dim.ToScalar();
        using var step = 2.ToScalar();
        using var width = dim.ToScalar();
        using var baseValue = theta.ToScalar();
        var exponents = arange(start, stop, step, dtype: ScalarType.Int64, device: device).to_type(ScalarType.Float32).div(width);
        var bases = full(new long[] { exponents.shape[0] }, baseValue, dtype: ScalarType.Float32, device: device);
        return bases.pow(exponents).reciprocal().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The decoder's cosines and sines for positions [3, B, L]: each axis' angles are <c>position · inv_freq</c>, duplicated
    /// over both halves of the head, and channel group i of <c>mrope_section × 2</c> takes axis i mod 3.
    /// </summary>
    /// <param name="positions">[3, B, L] int64 positions.</param>
    /// <param name="inverseFrequencies">[head / 2] from <see cref="InverseFrequencies"/>.</param>
    /// <param name="sections">The three section widths (sum = head / 2).</param>
    /// <param name="dtype">The dtype of the result.</param>
    /// <returns>Cosines and sines, each [B, 1, L, head] (broadcast over heads).</returns>
    public static (Tensor Cos, Tensor Sin) Multimodal(Tensor positions, Tensor inverseFrequencies, IReadOnlyList<int> sections, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1) * inverseFrequencies.to(positions.device);
        var emb = cat(new[] { freqs, freqs }, -1);
        var cos3 = emb.cos();
        var sin3 = emb.sin();
        var cosParts = new List<Tensor>();
        var sinParts = new List<Tensor>();
        long offset = 0;
        for (int i = 0; i < sections.Count * 2; i++)
        {
            int width = sections[i % sections.Count];
            cosParts.Add(cos3[i % 3].narrow(-1, offset, width));
            sinParts.Add(sin3[i % 3].narrow(-1, offset, width));
            offset += width;
        }

        var cos = cat(cosParts, -1).unsqueeze(1).to_type(dtype);
        var sin = cat(sinParts, -1).unsqueeze(1).to_type(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Applies rotary embeddings: <c>x·cos + rotate_half(x)·sin</c>.</summary>
    /// <param name="x">[B, heads, L, head].</param>
    /// <param name="cos">[B, 1, L, head].</param>
    /// <param name="sin">[B, 1, L, head].</param>
    /// <returns>The rotated tensor.</returns>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) => (x * cos).Plus(RotateHalf(x) * sin);
}
