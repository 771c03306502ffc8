using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Memory;

/// <summary>
/// Gradients returned by the backward pass of a custom autograd function. The engine takes its own reference to each
/// returned tensor as soon as the backward call returns, so the managed wrappers only need to live until then; they
/// are taken out of every dispose scope (the engine may call back on a thread without one) and released when the same
/// thread next enters one of these functions, instead of waiting for the finaliser.
/// </summary>
internal static class AutogradHandoff
{
    [ThreadStatic]
    private static List<Tensor>? t_pending;

    /// <summary>Releases the wrappers this thread handed to the engine earlier (the engine holds its own references by now).</summary>
    internal static void Release()
    {
        var pending = t_pending;
        if (pending is null || pending.Count == 0)
        {
            return;
        }

        foreach (var tensor in pending)
        {
            tensor.Dispose();
        }

        pending.Clear();
    }

    /// <summary>Takes a gradient out of its dispose scope (null when it is undefined).</summary>
    /// <param name="gradient">The gradient, possibly undefined.</param>
    /// <returns>The gradient, or null.</returns>
    internal static Tensor? Keep(Tensor? gradient) =>
        gradient is null || gradient.IsInvalid ? null : gradient.DetachFromDisposeScope();

    /// <summary>Takes the defined gradients out of their dispose scopes and keeps them until the next <see cref="Release"/>.</summary>
    /// <param name="gradients">One entry per forward argument; null where there is no gradient.</param>
    /// <returns>The list to return from the backward function.</returns>
    internal static List<Tensor> Hand(Tensor?[] gradients)
    {
        var pending = t_pending ??= new List<Tensor>();
        var result = new List<Tensor>(gradients.Length);
        foreach (var gradient in gradients)
        {
            if (gradient is null || gradient.IsInvalid)
            {
                result.Add(null!);
                continue;
            }

            pending.Add(gradient.DetachFromDisposeScope());
            result.Add(gradient);
        }

        return result;
    }
}
