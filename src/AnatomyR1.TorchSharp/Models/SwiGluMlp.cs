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
    private readonly FusedProjection _gateUp;
    private readonly FusedProjection _downFused;
    private readonly long _hidden;

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
        _gateUp = new FusedProjection(_gate, _up);
        _downFused = new FusedProjection(_down);
        _hidden = hidden;
    }

    /// <summary>Computes gate and up as one product in passes without gradient until the result is disposed (see <see cref="FusedProjection"/>).</summary>
    /// <returns>The unfusers (null entries for projections that cannot be fused).</returns>
    internal IEnumerable<IDisposable?> FuseProjections() => new[] { _gateUp.Fuse(), _downFused.Fuse() };

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        if (_gateUp.Weight is Tensor fused)
        {
            var both = input.matmul(fused);
            var gated = nn.functional.silu(both.narrow(-1, 0, _hidden)) * both.narrow(-1, _hidden, _hidden);
            return (_downFused.Weight is Tensor down ? gated.matmul(down) : _down.call(gated)).MoveToOuterDisposeScope();
        }

        return _down.call(nn.functional.silu(_gate.call(input)) * _up.call(input)).MoveToOuterDisposeScope();
    }
}
