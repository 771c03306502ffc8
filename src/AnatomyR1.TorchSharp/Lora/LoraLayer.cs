using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Lora;

/// <summary>
/// The adapter of one <c>Linear</c>: <c>lora_A</c> [r, in] and <c>lora_B</c> [out, r]. Its forward hook adds
/// <c>scaling · B(A(dropout(x)))</c> to the <c>Linear</c>'s output while its owner is enabled and not merged.
/// </summary>
internal sealed class LoraLayer : nn.Module
{
    [ComponentName(Name = "lora_A")]
    private Parameter _a;
    [ComponentName(Name = "lora_B")]
    private Parameter _b;
    private readonly LoraAdapters _owner;
    private Linear.HookRemover? _hook;
    private long _applications;

    /// <summary>Creates the adapter (not yet hooked) with A and B as given; they become trainable parameters.</summary>
    /// <param name="owner">The adapters this layer belongs to.</param>
    /// <param name="name">The adapted module's name in the model.</param>
    /// <param name="linear">The adapted module.</param>
    /// <param name="a">[r, in] initial A.</param>
    /// <param name="b">[out, r] initial B.</param>
    public LoraLayer(LoraAdapters owner, string name, Linear linear, Tensor a, Tensor b)
        : base(nameof(LoraLayer))
    {
        _owner = owner;
        Name = name;
        Linear = linear;
        _a = new Parameter(a, requires_grad: true);
        _b = new Parameter(b, requires_grad: true);
        _a.DetachFromDisposeScope();
        _b.DetachFromDisposeScope();
        register_parameter("lora_A", _a);
        register_parameter("lora_B", _b);
    }

    /// <summary>The adapted module's name in the model.</summary>
    public string Name { get; }

    /// <summary>The adapted module.</summary>
    public Linear Linear { get; }

    /// <summary>A, [r, in].</summary>
    public Parameter A => _a;

    /// <summary>B, [out, r].</summary>
    public Parameter B => _b;

    /// <summary>How many times the hook has run since the layer was hooked.</summary>
    public long Applications => Interlocked.Read(ref _applications);

    /// <summary>Registers the forward hook on the <c>Linear</c>.</summary>
    public void Hook() => _hook ??= Linear.register_forward_hook((_, input, output) => Apply(input, output));

    /// <summary>Removes the forward hook.</summary>
    public void Unhook()
    {
        _hook?.remove();
        _hook = null;
    }

    /// <summary>scaling · B·A in the given dtype and device, for merging into the base weight.</summary>
    /// <param name="dtype">The weight's dtype.</param>
    /// <param name="device">The weight's device.</param>
    /// <returns>[out, in] (the caller disposes it).</returns>
    public Tensor Delta(ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _b.matmul(_a).mul(_owner.Scaling).to(dtype, device).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    protected override void RegisterComponents()
    {
        // A and B are registered in the constructor; the adapted Linear must never become a child of this module.
    }

    private Tensor Apply(Tensor input, Tensor output)
    {
        Interlocked.Increment(ref _applications);
        if (!_owner.AddsDelta)
        {
            return output;
        }

        var a = _a;
        var b = _b;
        if (input.device_type != a.device_type || input.device_index != a.device_index)
        {
            throw new InvalidOperationException(
                $"The LoRA adapter of '{Name}' is on {a.device} but the module's input is on {input.device}; move the adapters with the model (adapters.to(device)) and build the optimizer afterwards.");
        }

        using var scope = NewDisposeScope();
        var x = input.dtype == a.dtype ? input : input.to_type(a.dtype);
        double p = _owner.Options.Dropout;
        if (p > 0 && Linear.training)
        {
            x = nn.functional.dropout(x, p, training: true);
        }

        var delta = nn.functional.linear(nn.functional.linear(x, a), b) * _owner.Scaling;
        if (delta.dtype != output.dtype)
        {
            delta = delta.to_type(output.dtype);
        }

        return (output + delta).MoveToOuterDisposeScope();
    }
}
