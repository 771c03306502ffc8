using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)), with or without biases (Qwen2.5-VL's vision tower has them).</summary>
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
    /// <param name="bias">Whether the three projections have biases (default none).</param>
    public SwiGluMlp(int width, int hidden, bool bias = false)
        : base(nameof(SwiGluMlp))
    {
        _gate = nn.Linear(width, hidden, hasBias: bias);
        _up = nn.Linear(width, hidden, hasBias: bias);
        _down = nn.Linear(hidden, width, hasBias: bias);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return _down.call(nn.functional.silu(_gate.call(input)) * _up.call(input)).MoveToOuterDisposeScope();
    }
}
