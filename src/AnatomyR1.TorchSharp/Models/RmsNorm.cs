using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>Root-mean-square layer norm: x / rms(x) · weight.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    private readonly double _eps;
    private readonly Scalar _epsilon;

    /// <summary>Creates the norm.</summary>
    /// <param name="dim">Feature size.</param>
    /// <param name="eps">Epsilon inside the root.</param>
    public RmsNorm(long dim, double eps)
        : base(nameof(RmsNorm))
    {
        _weight = new Parameter(ones(dim));
        _eps = eps;
        _epsilon = eps.ToScalar();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // Normalised in float32 and cast back to the input's dtype (as Qwen2's reference does for bf16/f16 inputs).
        var x = input.dtype == ScalarType.Float32 ? input : input.to_type(ScalarType.Float32);
        var normed = x * rsqrt(x.pow(FixedScalars.Two).mean(new long[] { -1 }, keepdim: true).add(_epsilon, FixedScalars.One));
        return ((input.dtype == ScalarType.Float32 ? normed : normed.to_type(input.dtype)) * _weight).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _epsilon.Dispose();
        }

        base.Dispose(disposing);
    }
}
