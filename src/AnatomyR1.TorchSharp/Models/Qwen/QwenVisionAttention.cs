using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Non-causal attention of the vision tower over packed patches, with 2-D rotary embeddings and a block-diagonal mask
/// that keeps attention inside each window (or each image, in the full-attention blocks).
/// </summary>
public sealed class QwenVisionAttention : nn.Module
{
    [ComponentName(Name = "qkv")]
    private readonly Linear _qkv;
    [ComponentName(Name = "proj")]
    private readonly Linear _proj;
    private readonly int _heads;
    private readonly int _headDim;

    /// <summary>Creates the layer.</summary>
    /// <param name="config">The tower's settings.</param>
    public QwenVisionAttention(QwenVisionConfig config)
        : base(nameof(QwenVisionAttention))
    {
        _heads = config.Heads;
        _headDim = config.HeadDim;
        _qkv = nn.Linear(config.HiddenSize, config.HiddenSize * 3, hasBias: true);
        _proj = nn.Linear(config.HiddenSize, config.HiddenSize, hasBias: true);
        RegisterComponents();
    }

    /// <summary>Attends.</summary>
    /// <param name="x">[N, width] packed patches.</param>
    /// <param name="cos">[N, head] rotary cosines.</param>
    /// <param name="sin">[N, head] rotary sines.</param>
    /// <param name="mask">[N, N] additive mask (0 inside a segment, a large negative number across segments).</param>
    /// <returns>[N, width].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var qkv = _qkv.forward(x).reshape(n, 3, _heads, _headDim).permute(1, 0, 2, 3);
        var c = cos.unsqueeze(1);
        var s = sin.unsqueeze(1);
        var q = Rotate(qkv[0], c, s).transpose(0, 1).unsqueeze(0);
        var k = Rotate(qkv[1], c, s).transpose(0, 1).unsqueeze(0);
        var v = qkv[2].transpose(0, 1).unsqueeze(0);
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask.to_type(q.dtype));
        return _proj.forward(attended.squeeze(0).transpose(0, 1).reshape(n, -1)).MoveToOuterDisposeScope();
    }

    /// <summary>Applies rotary embeddings in float32 and casts back: <c>x·cos + rotate_half(x)·sin</c>.</summary>
    internal static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        var f = x.to_type(ScalarType.Float32);
        return (f * cos).Plus(QwenRotary.RotateHalf(f) * sin).to_type(x.dtype);
    }
}
