using AnatomyR1.TorchSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Merges each 2×2 group of neighbouring patches (consecutive in the packed order) into one decoder token:
/// RMSNorm over each patch, concatenation of the group, then Linear(4·d → 4·d), exact GELU, Linear(4·d → text width).
/// </summary>
public sealed class QwenPatchMerger : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "ln_q")]
    private readonly RmsNorm _norm;
    [ComponentName(Name = "mlp")]
    private readonly Sequential _mlp;
    private readonly long _merged;

    /// <summary>Creates the merger.</summary>
    /// <param name="config">The tower's settings.</param>
    public QwenPatchMerger(QwenVisionConfig config)
        : base(nameof(QwenPatchMerger))
    {
        _merged = (long)config.HiddenSize * config.SpatialMergeSize * config.SpatialMergeSize;
        _norm = new RmsNorm(config.HiddenSize, 1e-6);
        _mlp = nn.Sequential(("0", nn.Linear(_merged, _merged)), ("1", nn.GELU()), ("2", nn.Linear(_merged, config.OutHiddenSize)));
        RegisterComponents();
    }

    /// <summary>Merges.</summary>
    /// <param name="input">[N, width] packed patches, N a multiple of the group size.</param>
    /// <returns>[N / 4, text width].</returns>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return _mlp.forward(_norm.forward(input).reshape(-1, _merged)).MoveToOuterDisposeScope();
    }
}
