using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly Linear _gate;
    [ComponentName(Name = "up_proj")]
    private readonly Linear _up;
    [ComponentName(Name = "down_proj")]
    private readonly Linear _down;

    /// <summary>Creates the layer.</summary>
    /// <param name="width">Model width.</param>
    /// <param name="hidden">Hidden width.</param>
    public SwiGluMlp(int width, int hidden)
        : base(nameof(SwiGluMlp))
    {
        _gate = nn.Linear(width, hidden, hasBias: false);
        _up = nn.Linear(width, hidden, hasBias: false);
        _down = nn.Linear(hidden, width, hasBias: false);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return _down.call(nn.functional.silu(_gate.call(input)) * _up.call(input)).MoveToOuterDisposeScope();
    }
}
