using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>Pre-norm decoder block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class DecoderBlock : nn.Module
{
    [ComponentName(Name = "input_norm")]
    private readonly RmsNorm _attnNorm;
    [ComponentName(Name = "self_attn")]
    private readonly SelfAttention _attn;
    [ComponentName(Name = "post_attention_norm")]
    private readonly RmsNorm _mlpNorm;
    [ComponentName(Name = "mlp")]
    private readonly SwiGluMlp _mlp;

    /// <summary>Creates the block.</summary>
    /// <param name="config">The configuration.</param>
    public DecoderBlock(VlmConfig config)
        : base(nameof(DecoderBlock))
    {
        _attnNorm = new RmsNorm(config.Width, config.NormEpsilon);
        _attn = new SelfAttention(config.Width, config.Heads);
        _mlpNorm = new RmsNorm(config.Width, config.NormEpsilon);
        _mlp = new SwiGluMlp(config.Width, config.MlpHidden);
        RegisterComponents();
    }

    /// <summary>Fuses the block's q/k/v and gate/up projections for passes without gradient until disposed.</summary>
    /// <returns>The unfusers.</returns>
    internal IEnumerable<IDisposable?> FuseProjections() => _attn.FuseProjections().Concat(_mlp.FuseProjections());

    /// <summary>Runs the block.</summary>
    /// <param name="x">Inputs [B, T, C].</param>
    /// <param name="mask">Additive attention mask [B, 1, T, L].</param>
    /// <param name="angles">Rotary cosines and sines of the tokens' positions.</param>
    /// <param name="cache">KV cache or null.</param>
    /// <param name="layer">Layer index.</param>
    /// <returns>Outputs [B, T, C].</returns>
    public Tensor Forward(Tensor x, Tensor mask, (Tensor Cos, Tensor Sin) angles, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_attn.Forward(_attnNorm.forward(x), mask, angles, cache, layer));
        return h.Plus(_mlp.forward(_mlpNorm.forward(h))).MoveToOuterDisposeScope();
    }
}
