using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// The default vision-language model: <see cref="GridImageEncoder"/> tokens followed by the text tokens, through a
/// decoder-only transformer with tied input/output embeddings. The image tokens always come first (positions 0 …
/// Grid²−1); text positions continue after them and skip left padding.
/// </summary>
public sealed class TinyVlm : nn.Module
{
    [ComponentName(Name = "vision")]
    private readonly GridImageEncoder _vision;
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embed;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<DecoderBlock> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;
    [ComponentName(Name = "rotary")]
    private readonly RotaryEmbedding _rotary;
    private readonly FusedProjection _logits;

    /// <summary>Creates the model with random weights (seed libtorch first for reproducibility).</summary>
    /// <param name="config">The configuration.</param>
    public TinyVlm(VlmConfig config)
        : base(nameof(TinyVlm))
    {
        config.Validate();
        Config = config;
        _vision = new GridImageEncoder(config);
        _embed = nn.Embedding(config.VocabSize, config.Width);
        _layers = new ModuleList<DecoderBlock>();
        for (int i = 0; i < config.Layers; i++)
        {
            _layers.Add(new DecoderBlock(config));
        }

        _norm = new RmsNorm(config.Width, config.NormEpsilon);
        _rotary = new RotaryEmbedding(config.HeadDim, config.MaxSequence, config.RopeTheta);
        using (no_grad())
        {
            _embed.weight!.normal_(0, 0.02);
        }

        RegisterComponents();
        _logits = new FusedProjection(() => _embed.weight!);
    }

    /// <summary>The configuration.</summary>
    public VlmConfig Config { get; }

    /// <summary>
    /// Recompute each decoder block's activations in the backward pass instead of keeping them (see
    /// <see cref="Memory.ActivationCheckpoint"/>): applies while the module is training, gradients are on and no cache
    /// is filled. Off by default.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// Computes each decoder block's q/k/v and gate/up projections as one matrix product each in passes without
    /// gradient, until the result is disposed (generation does this; layers with LoRA adapters stay separate).
    /// </summary>
    /// <returns>The unfuser.</returns>
    public IDisposable FuseProjections() => FusedProjection.Together(_layers.SelectMany(l => l.FuseProjections()).Append(_logits.Fuse()));

    /// <summary>The vision encoder (for freezing it).</summary>
    public GridImageEncoder Vision => _vision;

    /// <summary>
    /// Prefill: encodes the images and runs image tokens + text tokens. Text is left-padded: <paramref name="textMask"/>
    /// is 0 on padding. Returns logits for every text position [B, T, V]; fills <paramref name="cache"/> if given.
    /// </summary>
    /// <param name="pixels">Images [B, 3, S, S] in [0, 1].</param>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="textMask">1 for real tokens, 0 for padding [B, T].</param>
    /// <param name="cache">A fresh cache to fill, or null.</param>
    /// <returns>Logits [B, T, V].</returns>
    public Tensor Prefill(Tensor pixels, Tensor ids, Tensor textMask, KvCache? cache = null)
    {
        int n = Config.ImageTokens;
        using var scope = NewDisposeScope();
        var hidden = PrefillAll(pixels, ids, textMask, cache);
        return Logits(hidden.narrow(1, n, ids.shape[1])).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Prefill that returns final hidden states instead of logits: of the text columns <paramref name="start"/> …
    /// start + length − 1 (column c's state predicts token c + 1). Scoring projects only the columns it needs onto
    /// the vocabulary.
    /// </summary>
    /// <param name="pixels">Images [B, 3, S, S].</param>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="textMask">1 for real tokens [B, T].</param>
    /// <param name="start">First text column.</param>
    /// <param name="length">Columns.</param>
    /// <param name="cache">A cache to fill, or null.</param>
    /// <returns>Hidden states [B, length, C].</returns>
    internal Tensor PrefillHidden(Tensor pixels, Tensor ids, Tensor textMask, long start, long length, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        return PrefillAll(pixels, ids, textMask, cache).narrow(1, Config.ImageTokens + start, length).MoveToOuterDisposeScope();
    }

    private Tensor PrefillAll(Tensor pixels, Tensor ids, Tensor textMask, KvCache? cache)
    {
        int n = Config.ImageTokens;
        if (n + ids.shape[1] > Config.MaxSequence)
        {
            throw new ArgumentException($"{ids.shape[1]} text tokens after {n} image tokens exceed the model's {Config.MaxSequence} positions.", nameof(ids));
        }

        using var scope = NewDisposeScope();
        using var imageTokens = ((long)n).ToScalar();
        using var offset = (n - 1L).ToScalar();
        long b = ids.shape[0];
        var x = cat(new[] { _vision.forward(pixels), _embed.forward(ids) }, 1);
        var mask = textMask.to_type(int64);
        var keyMask = cat(new[] { ones(b, n, dtype: int64, device: ids.device), mask }, 1);
        // Text positions continue after the image tokens and skip left padding.
        var textPositions = mask.cumsum(1).add(offset, FixedScalars.One).clamp_min(imageTokens);
        var positions = cat(new[] { arange(imageTokens, dtype: int64, device: ids.device).unsqueeze(0).expand(b, n), textPositions }, 1);
        long total = x.shape[1];
        var causal = ones(total, total, dtype: ScalarType.Bool, device: ids.device).tril();
        var allowed = causal.unsqueeze(0) & keyMask.to_type(ScalarType.Bool).unsqueeze(1);
        var hidden = Run(x, positions, FixedScalars.AdditiveMask(allowed).unsqueeze(1), cache);
        cache?.SetState(keyMask, positions.select(1, total - 1).PlusOne());
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Projects hidden states onto the vocabulary (the tied embeddings).</summary>
    /// <param name="hidden">[..., C].</param>
    /// <returns>[..., V] logits.</returns>
    internal Tensor Logits(Tensor hidden) => hidden.matmul(_logits.Weight ?? _embed.weight!.t());

    /// <summary>Decodes new tokens [B, T] against the cache (which it extends). Returns their logits [B, T, V].</summary>
    /// <param name="ids">New token ids.</param>
    /// <param name="cache">The cache from <see cref="Prefill"/>.</param>
    /// <returns>Logits.</returns>
    public Tensor Decode(Tensor ids, KvCache cache)
    {
        if (cache.Length + ids.shape[1] > Config.MaxSequence)
        {
            throw new ArgumentException($"Decoding {ids.shape[1]} more token(s) after {cache.Length} would exceed the model's {Config.MaxSequence} positions.", nameof(ids));
        }

        using var scope = NewDisposeScope();
        return Logits(DecodeHidden(ids, cache)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs new tokens [N, T] against the cache (which it extends) and returns their final hidden states [N, T, C]:
    /// decoding, and the completions of shared-prefix scoring (differentiable through a growing cache).
    /// </summary>
    /// <param name="ids">New token ids.</param>
    /// <param name="cache">The cache from a prefill.</param>
    /// <returns>Hidden states.</returns>
    internal Tensor DecodeHidden(Tensor ids, KvCache cache)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1];
        var (positions, keyMask, bias) = cache.NextStep(t);
        var hidden = Run(_embed.forward(ids), positions, bias, cache);
        cache.SetState(keyMask, positions.select(1, t - 1).PlusOne());
        return hidden.MoveToOuterDisposeScope();
    }

    private Tensor Run(Tensor x, Tensor positions, Tensor mask, KvCache? cache)
    {
        var angles = _rotary.Angles(positions);
        bool checkpoint = GradientCheckpointing && training && cache is null && is_grad_enabled();
        var constants = checkpoint ? new[] { mask, angles.Cos, angles.Sin } : Array.Empty<Tensor>();
        for (int i = 0; i < _layers.Count; i++)
        {
            var layer = _layers[i];
            int index = i;
            x = checkpoint
                ? Memory.ActivationCheckpoint.Run((input, c) => layer.Forward(input, c[0], (c[1], c[2]), null, index), x, constants, Memory.ActivationCheckpoint.ParametersOf(layer))
                : layer.Forward(x, mask, angles, cache, i);
        }

        return _norm.forward(x);
    }

}
