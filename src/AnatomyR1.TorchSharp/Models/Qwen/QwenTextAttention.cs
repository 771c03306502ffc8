using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Qwen2's grouped-query self-attention: q/k/v projections with biases, o without, multimodal rotary embeddings on
/// q and k, key/value heads shared by <c>heads / kv_heads</c> query heads, scale 1/√head. Keys and values are cached
/// per layer with their key/value heads only.
/// </summary>
public sealed class QwenTextAttention : nn.Module
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
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly FusedProjection _out;

    /// <summary>Creates the layer.</summary>
    /// <param name="config">The decoder's settings.</param>
    public QwenTextAttention(QwenTextConfig config)
        : base(nameof(QwenTextAttention))
    {
        _heads = config.Heads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _q = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: true);
        _k = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        _v = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        _o = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: false);
        RegisterComponents();
        _out = new FusedProjection(_o);
    }

    /// <summary>Uses a pre-laid-out output projection in passes without gradient until disposed (see <see cref="FusedProjection"/>).</summary>
    /// <returns>The unfuser, or null.</returns>
    internal IDisposable? FuseProjections() => _out.Fuse();

    /// <summary>Attends.</summary>
    /// <param name="x">[B, T, width].</param>
    /// <param name="cos">[B, 1, T, head] rotary cosines.</param>
    /// <param name="sin">[B, 1, T, head] rotary sines.</param>
    /// <param name="mask">[B, 1, T, past + T] additive mask.</param>
    /// <param name="cache">The key/value cache, or null.</param>
    /// <param name="layer">This layer's index in the cache.</param>
    /// <returns>[B, T, width].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        // Queries and keys are rotated together (one set of element-wise operations instead of two).
        var rotated = QwenRotary.Apply(cat(new[] { _q.call(x).view(b, t, _heads, _headDim), _k.call(x).view(b, t, _kvHeads, _headDim) }, 2).transpose(1, 2), cos, sin);
        var q = rotated.narrow(1, 0, _heads);
        var k = rotated.narrow(1, _heads, _kvHeads);
        var v = _v.call(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k, v);
        }

        int groups = _heads / _kvHeads;
        Tensor attended;
        if (groups > 1 && t == 1 && mask.shape[2] == 1)
        {
            // One new token per row: the query heads that share a key/value head attend to it as a group of queries
            // ([B, kv heads, groups, D] against [B, kv heads, L, D]), so the cached keys and values are used in place
            // instead of being repeated for every query head at every step.
            var grouped = q.reshape(b, _kvHeads, groups, _headDim);
            attended = nn.functional.scaled_dot_product_attention(grouped, k, v, mask.to_type(q.dtype)).reshape(b, _heads, 1, _headDim);
        }
        else
        {
            if (groups > 1)
            {
                k = k.repeat_interleave(groups, 1);
                v = v.repeat_interleave(groups, 1);
            }

            attended = nn.functional.scaled_dot_product_attention(q, k, v, mask.to_type(q.dtype));
        }

        var merged = attended.transpose(1, 2).reshape(b, t, -1);
        return (_out.Weight is Tensor output ? merged.matmul(output) : _o.call(merged)).MoveToOuterDisposeScope();
    }
}
