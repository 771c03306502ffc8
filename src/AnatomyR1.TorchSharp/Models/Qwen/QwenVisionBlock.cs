using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>One pre-norm vision block: <c>x + attn(norm1(x))</c>, then <c>x + mlp(norm2(x))</c> (RMSNorm ε 1e-6, SwiGLU with biases).</summary>
public sealed class QwenVisionBlock : nn.Module
{
    [ComponentName(Name = "norm1")]
    private readonly RmsNorm _norm1;
    [ComponentName(Name = "norm2")]
    private readonly RmsNorm _norm2;
    [ComponentName(Name = "attn")]
    private readonly QwenVisionAttention _attn;
    [ComponentName(Name = "mlp")]
    private readonly SwiGluMlp _mlp;

    /// <summary>Creates the block.</summary>
    /// <param name="config">The tower's settings.</param>
    public QwenVisionBlock(QwenVisionConfig config)
        : base(nameof(QwenVisionBlock))
    {
        _norm1 = new RmsNorm(config.HiddenSize, 1e-6);
        _norm2 = new RmsNorm(config.HiddenSize, 1e-6);
        _attn = new QwenVisionAttention(config);
        _mlp = new SwiGluMlp(config.HiddenSize, config.IntermediateSize, bias: true);
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">[N, width].</param>
    /// <param name="cos">[N, head] rotary cosines.</param>
    /// <param name="sin">[N, head] rotary sines.</param>
    /// <param name="mask">[N, N] additive segment mask.</param>
    /// <returns>[N, width].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_attn.Forward(_norm1.forward(x), cos, sin, mask));
        return h.Plus(_mlp.forward(_norm2.forward(h))).MoveToOuterDisposeScope();
    }
}
