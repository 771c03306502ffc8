using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Memory;

/// <summary>
/// Activation checkpointing: a block runs without recording its intermediate activations, only its input is kept, and
/// the backward pass runs the block again with gradients on to obtain them. Memory for activations drops from every
/// intermediate tensor of every checkpointed block to one input per block plus one block's intermediates at a time,
/// for the price of a second forward pass of each block during backward.
/// </summary>
/// <remarks>
/// <para>The block must compute the same values when run again: no state that changes between the two runs and no
/// cache. Randomness drawn from the CPU generator (dropout on the CPU) is replayed: the generator's state is recorded
/// before the forward pass and restored for the recomputation (then put back). A CUDA generator is not recorded, so on
/// a GPU a checkpointed block must not use dropout. Its gradients reach the input and
/// <c>parameters</c> through the autograd engine, so <c>loss.backward()</c> accumulates them into each
/// parameter's <c>.grad</c> exactly as without checkpointing. Parameters the block uses but that are not listed
/// receive no gradient.</para>
/// <para>When gradients are off (<c>no_grad</c>), or neither the input nor any listed parameter requires a gradient,
/// the block simply runs.</para>
/// </remarks>
public static class ActivationCheckpoint
{
    /// <summary>Runs <paramref name="block"/> on <paramref name="input"/> with checkpointing.</summary>
    /// <param name="block">
    /// The computation. Any tensor it reads besides its input and the parameters must still be alive when the backward
    /// pass runs (pass such tensors through <see cref="Run(Func{Tensor, IReadOnlyList{Tensor}, Tensor}, Tensor, IReadOnlyList{Tensor}, IEnumerable{Parameter})"/>
    /// to have them kept).
    /// </param>
    /// <param name="input">The block's input.</param>
    /// <param name="parameters">The parameters the block uses (those that do not require a gradient are skipped).</param>
    /// <returns>The block's output, connected to <paramref name="input"/> and <paramref name="parameters"/> in the autograd graph.</returns>
    public static Tensor Run(Func<Tensor, Tensor> block, Tensor input, IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(block);
        return Run((x, _) => block(x), input, Array.Empty<Tensor>(), parameters);
    }

    /// <summary>
    /// Runs <paramref name="block"/> on <paramref name="input"/> and constant tensors (masks, rotary tables) with
    /// checkpointing; the constants are kept for the backward pass and handed to the block again there.
    /// </summary>
    /// <param name="block">The computation: (input, constants) → output.</param>
    /// <param name="input">The block's input.</param>
    /// <param name="constants">Tensors the block reads that need no gradient.</param>
    /// <param name="parameters">The parameters the block uses (those that do not require a gradient are skipped).</param>
    /// <returns>The block's output, connected to <paramref name="input"/> and <paramref name="parameters"/> in the autograd graph.</returns>
    /// <exception cref="ArgumentException">A constant requires a gradient.</exception>
    public static Tensor Run(Func<Tensor, IReadOnlyList<Tensor>, Tensor> block, Tensor input, IReadOnlyList<Tensor> constants, IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(constants);
        ArgumentNullException.ThrowIfNull(parameters);
        for (int i = 0; i < constants.Count; i++)
        {
            if (constants[i] is null)
            {
                throw new ArgumentException($"Constant {i} is null.", nameof(constants));
            }

            if (constants[i].requires_grad)
            {
                throw new ArgumentException($"Constant {i} requires a gradient; checkpointed blocks take constants without gradients only.", nameof(constants));
            }
        }

        AutogradHandoff.Release();
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        if (!is_grad_enabled() || (!input.requires_grad && trainable.Count == 0))
        {
            return block(input, constants);
        }

        var state = new CheckpointState(block, constants.Count, trainable, input.requires_grad);
        var arguments = new object[state.ArgumentCount];
        arguments[0] = state;
        arguments[1] = input;
        for (int i = 0; i < constants.Count; i++)
        {
            arguments[2 + i] = constants[i];
        }

        for (int i = 0; i < trainable.Count; i++)
        {
            arguments[2 + constants.Count + i] = trainable[i];
        }

        return CheckpointFunction.apply(arguments);
    }

    /// <summary>
    /// The parameters a checkpointed block uses: its own and those of LoRA adapters hooked onto its <c>Linear</c>
    /// modules (which are not children of the block). Pass the result to <see cref="Run(Func{Tensor, IReadOnlyList{Tensor}, Tensor}, Tensor, IReadOnlyList{Tensor}, IEnumerable{Parameter})"/>.
    /// </summary>
    /// <param name="block">The block.</param>
    /// <returns>The parameters.</returns>
    public static IEnumerable<Parameter> ParametersOf(nn.Module block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return block.parameters().Concat(Lora.LoraAdapters.AdapterParametersUnder(block));
    }

    /// <summary>What the backward pass needs besides the saved tensors.</summary>
    private sealed record CheckpointState(Func<Tensor, IReadOnlyList<Tensor>, Tensor> Block, int ConstantCount, IReadOnlyList<Parameter> Parameters, bool InputNeedsGrad)
    {
        /// <summary>Arguments of the autograd function: the state, the input, the constants, the parameters.</summary>
        public int ArgumentCount => 2 + ConstantCount + Parameters.Count;

        /// <summary>The CPU generator's state when the forward pass ran, restored for the recomputation (dropout draws the same masks).</summary>
        public Tensor? RandomState { get; set; }
    }

    /// <summary>
    /// The autograd function. Arguments: the state, the input, the constants, the parameters (parameters are arguments
    /// so that the node takes part in backward even when the input needs no gradient, and so that their gradients go
    /// through the engine).
    /// </summary>
    private sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
    {
        private const string StateKey = "state";

        public override string Name => nameof(ActivationCheckpoint);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            // The engine calls this with gradients off: nothing inside the block is recorded.
            var state = (CheckpointState)vars[0];
            var input = (Tensor)vars[1];
            var constants = new Tensor[state.ConstantCount];
            for (int i = 0; i < constants.Length; i++)
            {
                constants[i] = (Tensor)vars[2 + i];
            }

            var saved = new List<Tensor>(1 + constants.Length) { input };
            saved.AddRange(constants);
            ctx.save_for_backward(saved);
            ctx.save_data(StateKey, state);
            state.RandomState = global::TorchSharp.torch.random.get_rng_state().DetachFromDisposeScope();
            using var scope = NewDisposeScope();
            var output = state.Block(input, constants);

            // A block that hands back one of its arguments must not move it out of the caller's scope.
            return ReferenceEquals(output, input) || constants.Any(c => ReferenceEquals(output, c)) ? output : output.MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            AutogradHandoff.Release();
            var state = (CheckpointState)ctx.get_data(StateKey);
            var gradients = new Tensor?[state.ArgumentCount];
            using (var scope = NewDisposeScope())
            {
                var saved = ctx.get_saved_variables();
                var input = saved[0].detach().requires_grad_(state.InputNeedsGrad);
                var constants = saved.Skip(1).ToList();
                var targets = new List<Tensor>(1 + state.Parameters.Count);
                if (state.InputNeedsGrad)
                {
                    targets.Add(input);
                }

                targets.AddRange(state.Parameters);
                Tensor output;
                var current = global::TorchSharp.torch.random.get_rng_state();
                try
                {
                    if (state.RandomState is { } saved0)
                    {
                        global::TorchSharp.torch.random.set_rng_state(saved0);
                    }

                    using (enable_grad())
                    {
                        output = state.Block(input, constants);
                    }
                }
                finally
                {
                    global::TorchSharp.torch.random.set_rng_state(current);
                    state.RandomState?.Dispose();
                    state.RandomState = null;
                }

                var grads = autograd.grad(new[] { output }, targets, new[] { grad_output }, allow_unused: true);
                int k = 0;
                if (state.InputNeedsGrad)
                {
                    gradients[1] = AutogradHandoff.Keep(grads[k++]);
                }

                for (int i = 0; i < state.Parameters.Count; i++)
                {
                    gradients[2 + state.ConstantCount + i] = AutogradHandoff.Keep(grads[k++]);
                }
            }

            grad_output.Dispose();
            return AutogradHandoff.Hand(gradients);
        }
    }
}
