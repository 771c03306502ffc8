using AnatomyR1.TorchSharp.Models.Memory;
using AnatomyR1.TorchSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>The Qwen2 decoder stack (checkpoint prefix <c>model.</c>): token embeddings, decoder layers, final RMSNorm.</summary>
public sealed class QwenTextModel : nn.Module
{
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embed;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<QwenDecoderLayer> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    /// <summary>Creates the stack with random weights.</summary>
    /// <param name="config">The decoder's settings.</param>
    public QwenTextModel(QwenTextConfig config)
        : base(nameof(QwenTextModel))
    {
        _embed = nn.Embedding(config.VocabSize, config.HiddenSize);
        _layers = new ModuleList<QwenDecoderLayer>();
        for (int i = 0; i < config.Layers; i++)
        {
            _layers.Add(new QwenDecoderLayer(config));
        }

        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEpsilon);
        RegisterComponents();
    }

    /// <summary>The token embedding table [vocab, width].</summary>
    public Parameter EmbeddingWeight => _embed.weight!;

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them (see
    /// <see cref="ActivationCheckpoint"/>): applies while the module is training, gradients are on and no cache is
    /// filled; otherwise the layers run as usual. Off by default.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Fuses every layer's bias-free projections for passes without gradient until disposed.</summary>
    /// <returns>The unfusers.</returns>
    internal IEnumerable<IDisposable?> FuseProjections() => _layers.SelectMany(l => l.FuseProjections()).ToList();

    /// <summary>Number of layers.</summary>
    public int LayerCount => _layers.Count;

    /// <summary>Looks up token embeddings.</summary>
    /// <param name="ids">[B, T] int64 ids.</param>
    /// <returns>[B, T, width].</returns>
    public Tensor Embed(Tensor ids) => _embed.forward(ids);

    /// <summary>Runs the layers and the final norm.</summary>
    /// <param name="embeddings">[B, T, width] input embeddings.</param>
    /// <param name="cos">[B, 1, T, head] rotary cosines.</param>
    /// <param name="sin">[B, 1, T, head] rotary sines.</param>
    /// <param name="mask">[B, 1, T, past + T] additive mask.</param>
    /// <param name="cache">The key/value cache, or null.</param>
    /// <returns>[B, T, width] normalised hidden states.</returns>
    public Tensor Forward(Tensor embeddings, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var x = embeddings;
        bool checkpoint = GradientCheckpointing && training && cache is null && is_grad_enabled();
        var constants = new[] { cos, sin, mask };
        for (int i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            int index = i;
            x = checkpoint
                ? ActivationCheckpoint.Run((input, c) => layer.Forward(input, c[0], c[1], c[2], null, index), x, constants, ActivationCheckpoint.ParametersOf(layer))
                : layer.Forward(x, cos, sin, mask, cache, i);
        }

        return _norm.forward(x).MoveToOuterDisposeScope();
    }
}
