using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>SwiGLU feed-forward: <c>down(silu(gate(x)) · up(x))</c>, with biases in the vision tower and without in the decoder.</summary>
public sealed class QwenMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly Linear _gate;
    [ComponentName(Name = "up_proj")]
    private readonly Linear _up;
    [ComponentName(Name = "down_proj")]
    private readonly Linear _down;

    /// <summary>Creates the block.</summary>
    /// <param name="width">Input and output width.</param>
    /// <param name="inner">Inner width.</param>
    /// <param name="bias">Whether the three projections have biases.</param>
    public QwenMlp(int width, int inner, bool bias)
        : base(nameof(QwenMlp))
    {
        _gate = nn.Linear(width, inner, hasBias: bias);
        _up = nn.Linear(width, inner, hasBias: bias);
        _down = nn.Linear(inner, width, hasBias: bias);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return _down.call(nn.functional.silu(_gate.call(input)) * _up.call(input)).MoveToOuterDisposeScope();
    }
}
