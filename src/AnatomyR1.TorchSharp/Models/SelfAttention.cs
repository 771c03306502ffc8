using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>Multi-head causal self-attention with rotary positions and an optional KV cache.</summary>
public sealed class SelfAttention : nn.Module
{
    [ComponentName(Name = "q_proj")]
    private readonly Linear _q;
    [ComponentName(Name = "k_proj")]
    private readonly Linear _k;
    [ComponentName(Name = "v_proj")]
    private readonly Linear _v;
    [ComponentName(Name = "o_proj")]
    private readonly Linear _o;
    private readonly int _heads;
    private readonly int _headDim;
    private readonly FusedProjection _qkv;
    private readonly FusedProjection _out;

    /// <summary>Creates the layer.</summary>
    /// <param name="width">Model width.</param>
    /// <param name="heads">Heads.</param>
    public SelfAttention(int width, int heads)
        : base(nameof(SelfAttention))
    {
        _heads = heads;
        _headDim = width / heads;
        _q = nn.Linear(width, width, hasBias: false);
        _k = nn.Linear(width, width, hasBias: false);
        _v = nn.Linear(width, width, hasBias: false);
        _o = nn.Linear(width, width, hasBias: false);
        RegisterComponents();
        _qkv = new FusedProjection(_q, _k, _v);
        _out = new FusedProjection(_o);
    }

    /// <summary>Computes q, k and v as one product in passes without gradient until the result is disposed (see <see cref="FusedProjection"/>).</summary>
    /// <returns>The unfusers (null entries for projections that cannot be fused).</returns>
    internal IEnumerable<IDisposable?> FuseProjections() => new[] { _qkv.Fuse(), _out.Fuse() };

    /// <summary>Attends from <paramref name="x"/> [B, T, C] to the cached and new keys.</summary>
    /// <param name="x">Inputs.</param>
    /// <param name="mask">Additive mask [B, 1, T, L] over all keys (cached + new).</param>
    /// <param name="angles">Rotary cosines and sines of the new tokens' positions (shared by all layers).</param>
    /// <param name="cache">The cache to extend, or null.</param>
    /// <param name="layer">This layer's index in the cache.</param>
    /// <returns>Outputs [B, T, C].</returns>
    public Tensor Forward(Tensor x, Tensor mask, (Tensor Cos, Tensor Sin) angles, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        // Queries and keys are rotated together (one set of element-wise operations instead of two).
        Tensor rotated, v;
        if (_qkv.Weight is Tensor fused)
        {
            var qkv = x.matmul(fused).view(b, t, 3 * _heads, _headDim);
            rotated = RotaryEmbedding.Apply(qkv.narrow(2, 0, 2 * _heads).transpose(1, 2), angles);
            v = qkv.narrow(2, 2 * _heads, _heads).transpose(1, 2);
        }
        else
        {
            rotated = RotaryEmbedding.Apply(cat(new[] { _q.call(x).view(b, t, _heads, _headDim), _k.call(x).view(b, t, _heads, _headDim) }, 2).transpose(1, 2), angles);
            v = _v.call(x).view(b, t, _heads, _headDim).transpose(1, 2);
        }

        var q = rotated.narrow(1, 0, _heads);
        var k = rotated.narrow(1, _heads, _heads);
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k, v);
        }

        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask);
        var merged = attended.transpose(1, 2).reshape(b, t, -1);
        return (_out.Weight is Tensor output ? merged.matmul(output) : _o.call(merged)).MoveToOuterDisposeScope();
    }
}
