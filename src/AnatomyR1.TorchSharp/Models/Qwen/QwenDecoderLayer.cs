using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>One Qwen2 decoder layer: <c>x + attn(input_layernorm(x))</c>, then <c>x + mlp(post_attention_layernorm(x))</c>.</summary>
public sealed class QwenDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")]
    private readonly QwenTextAttention _attention;
    [ComponentName(Name = "mlp")]
    private readonly SwiGluMlp _mlp;
    [ComponentName(Name = "input_layernorm")]
    private readonly RmsNorm _inputNorm;
    [ComponentName(Name = "post_attention_layernorm")]
    private readonly RmsNorm _postNorm;

    /// <summary>Creates the layer.</summary>
    /// <param name="config">The decoder's settings.</param>
    public QwenDecoderLayer(QwenTextConfig config)
        : base(nameof(QwenDecoderLayer))
    {
        _attention = new QwenTextAttention(config);
        _mlp = new SwiGluMlp(config.HiddenSize, config.IntermediateSize, bias: false);
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        _postNorm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        RegisterComponents();
    }

    /// <summary>Fuses the layer's bias-free projections for passes without gradient until disposed.</summary>
    /// <returns>The unfusers.</returns>
    internal IEnumerable<IDisposable?> FuseProjections() => _mlp.FuseProjections().Append(_attention.FuseProjections());

    /// <summary>Runs the layer.</summary>
    /// <param name="x">[B, T, width].</param>
    /// <param name="cos">[B, 1, T, head] rotary cosines.</param>
    /// <param name="sin">[B, 1, T, head] rotary sines.</param>
    /// <param name="mask">[B, 1, T, past + T] additive mask.</param>
    /// <param name="cache">The key/value cache, or null.</param>
    /// <param name="layer">This layer's index.</param>
    /// <returns>[B, T, width].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_attention.Forward(_inputNorm.forward(x), cos, sin, mask, cache, layer));
        return h.Plus(_mlp.forward(_postNorm.forward(h))).MoveToOuterDisposeScope();
    }
}
