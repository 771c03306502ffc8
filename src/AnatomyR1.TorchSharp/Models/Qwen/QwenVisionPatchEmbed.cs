using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The vision tower's patch embedding: a Conv3d with kernel = stride = (temporal, patch, patch) and no bias, applied to
/// flattened patches [N, C·T·P·P]. Because kernel and stride coincide it is computed as one matrix product with the
/// kernel viewed as [width, C·T·P·P]; the weight keeps the Conv3d shape so checkpoints load unchanged.
/// </summary>
public sealed class QwenVisionPatchEmbed : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "proj")]
    private readonly PatchProjection _proj;

    /// <summary>Creates the embedding.</summary>
    /// <param name="config">The tower's settings.</param>
    public QwenVisionPatchEmbed(QwenVisionConfig config)
        : base(nameof(QwenVisionPatchEmbed))
    {
        _proj = new PatchProjection(config);
        RegisterComponents();
    }

    /// <summary>Embeds flattened patches.</summary>
    /// <param name="input">[N, C·T·P·P] patch values.</param>
    /// <returns>[N, width].</returns>
    public override Tensor forward(Tensor input) => _proj.forward(input);

    /// <summary>Holds the Conv3d-shaped kernel under the checkpoint's name <c>proj.weight</c>.</summary>
    private sealed class PatchProjection : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "weight")]
        private readonly Parameter _weight;
        private readonly long _values;

        public PatchProjection(QwenVisionConfig config)
            : base("proj")
        {
            _values = config.PatchValues;
            var w = empty(new long[] { config.HiddenSize, config.InChannels, config.TemporalPatchSize, config.PatchSize, config.PatchSize });
            using (no_grad())
            {
                nn.init.kaiming_uniform_(w, Math.Sqrt(5));
            }

            _weight = new Parameter(w);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var flat = input.reshape(-1, _values).to_type(_weight.dtype);
            return flat.matmul(_weight.view(_weight.shape[0], _values).t()).MoveToOuterDisposeScope();
        }
    }
}
