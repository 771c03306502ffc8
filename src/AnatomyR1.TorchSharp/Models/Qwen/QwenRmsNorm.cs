using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>Qwen2's RMSNorm: normalises in float32, casts back to the input's dtype, then scales by <c>weight</c>.</summary>
public sealed class QwenRmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    private readonly double _eps;

    /// <summary>Creates the norm with unit weights.</summary>
    /// <param name="dim">The normalised width.</param>
    /// <param name="eps">ε added to the mean square.</param>
    public QwenRmsNorm(long dim, double eps)
        : base(nameof(QwenRmsNorm))
    {
        _weight = new Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.dtype == ScalarType.Float32 ? input : input.to_type(ScalarType.Float32);
        var normed = x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + _eps);
        return (_weight * normed.to_type(input.dtype)).MoveToOuterDisposeScope();
    }
}
