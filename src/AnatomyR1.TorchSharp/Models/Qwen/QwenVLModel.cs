using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Qwen2.5-VL for conditional generation: the vision tower (<c>visual.</c>), the Qwen2 decoder (<c>model.</c>) and
/// the output head (<c>lm_head.</c>, absent when tied to the embeddings). Parameter names follow the checkpoints'
/// older layout; <see cref="QwenCheckpointNames"/> maps the newer one onto it.
/// </summary>
public sealed class QwenVLModel : nn.Module
{
    [ComponentName(Name = "model")]
    private readonly QwenTextModel _text;
    [ComponentName(Name = "visual")]
    private readonly QwenVisionTransformer _visual;
    [ComponentName(Name = "lm_head")]
    private readonly Linear? _head;
    // An array, so that module registration does not turn the derived table into a saved buffer.
    private readonly Tensor?[] _inverseFrequencies = new Tensor?[1];
    private readonly FusedProjection _logits;

    /// <summary>Creates the model with random weights (use a checkpoint loader to fill them).</summary>
    /// <param name="config">The configuration.</param>
    public QwenVLModel(QwenVLConfig config)
        : base(nameof(QwenVLModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Vision.OutHiddenSize != config.Text.HiddenSize)
        {
            throw new ArgumentException($"The vision tower's output width {config.Vision.OutHiddenSize} must equal the decoder width {config.Text.HiddenSize}.", nameof(config));
        }

        Config = config;
        _text = new QwenTextModel(config.Text);
        _visual = new QwenVisionTransformer(config.Vision);
        _head = config.TieWordEmbeddings ? null : nn.Linear(config.Text.HiddenSize, config.Text.VocabSize, hasBias: false);
        RegisterComponents();
        _logits = _head is not null ? new FusedProjection(_head) : new FusedProjection(() => _text.EmbeddingWeight);
    }

    /// <summary>The configuration.</summary>
    public QwenVLConfig Config { get; }

    /// <summary>The decoder stack.</summary>
    public QwenTextModel Text => _text;

    /// <summary>The vision tower.</summary>
    public QwenVisionTransformer Visual => _visual;

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them, trading a second
    /// forward pass of the decoder for memory (see <see cref="QwenTextModel.GradientCheckpointing"/>). Applies in
    /// training mode with gradients on; off by default.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => _text.GradientCheckpointing;
        set => _text.GradientCheckpointing = value;
    }

    /// <summary>The output projection [vocab, width]: <c>lm_head.weight</c>, or the token embeddings when they are tied.</summary>
    public Parameter OutputWeight => _head?.weight ?? _text.EmbeddingWeight;

    /// <summary>
    /// Runs a prompt batch: embeds the ids, replaces the <c>&lt;|image_pad|&gt;</c> slots by the vision tower's tokens
    /// (images in order of appearance), computes the multimodal positions and runs the decoder.
    /// </summary>
    /// <param name="patches">[ΣN, 1176] flattened patches of every image, or null for text only.</param>
    /// <param name="grids">Each image's (t, h, w) grid, in order of appearance across rows.</param>
    /// <param name="ids">[B, L] int64 ids, left-padded.</param>
    /// <param name="mask">[B, L] 1 for real tokens.</param>
    /// <param name="cache">A cache to fill for decoding, or null.</param>
    /// <param name="promptLength">
    /// Columns from this one on are completion text: a <c>&lt;|image_pad|&gt;</c> or <c>&lt;|vision_start|&gt;</c> there is
    /// an ordinary token, never an image slot (default: the whole row is prompt).
    /// </param>
    /// <returns>[B, L, width] final hidden states.</returns>
    public Tensor Prefill(Tensor? patches, IReadOnlyList<int[]> grids, Tensor ids, Tensor mask, KvCache? cache = null, long promptLength = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(mask);
        grids ??= Array.Empty<int[]>();
        using var scope = NewDisposeScope();
        long b = ids.shape[0], l = ids.shape[1];
        var device = ids.device;
        long[] hostIds = ids.cpu().data<long>().ToArray();
        long[] hostMask = mask.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
        long[] structural = (long[])hostIds.Clone();
        int imageSlots = 0;
        for (int i = 0; i < structural.Length; i++)
        {
            if (i % l >= promptLength && (structural[i] == Config.ImageTokenId || structural[i] == Config.VisionStartTokenId || structural[i] == Config.VideoTokenId))
            {
                structural[i] = -1;
            }
            else if (structural[i] == Config.ImageTokenId)
            {
                imageSlots++;
            }
        }

        var (positions, deltas) = QwenRopeIndex.Compute(structural, hostMask, (int)b, (int)l, grids, Config);
        var embeddings = _text.Embed(ids);
        if (grids.Count > 0)
        {
            if (patches is null)
            {
                throw new ArgumentException("Image grids were given without patches.", nameof(patches));
            }

            var imageTokens = _visual.Forward(patches, grids).to_type(embeddings.dtype);
            if (imageTokens.shape[0] != imageSlots)
            {
                throw new ArgumentException($"The prompts hold {imageSlots} <|image_pad|> tokens but the images give {imageTokens.shape[0]}.", nameof(ids));
            }

            using var imageToken = ((long)Config.ImageTokenId).ToScalar();
            var slots = tensor(structural, new long[] { b, l }, device: device).eq(imageToken).unsqueeze(-1).expand_as(embeddings);
            embeddings = embeddings.masked_scatter(slots, imageTokens);
        }
        else if (imageSlots > 0)
        {
            throw new ArgumentException($"The prompts hold {imageSlots} <|image_pad|> tokens but no image was given.", nameof(ids));
        }

        var positionTensor = tensor(positions, new long[] { 3, b, l }, device: device);
        var (cos, sin) = QwenRotary.Multimodal(positionTensor, InverseFrequencies(device), Config.Text.MropeSection, embeddings.dtype);
        var keyMask = tensor(hostMask, new long[] { b, l }, device: device);
        var causal = ones(l, l, dtype: ScalarType.Bool, device: device).tril();
        var allowed = causal.unsqueeze(0) & keyMask.to_type(ScalarType.Bool).unsqueeze(1);
        var hidden = _text.Forward(embeddings, cos, sin, FixedScalars.AdditiveMask(allowed).unsqueeze(1), cache);
        if (cache is not null)
        {
            using var length = l.ToScalar();
            cache.SetState(keyMask, tensor(deltas, device: device).add(length, FixedScalars.One));
        }

        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Continues from a filled cache with new text tokens (positions continue from each row's next position on all three axes).</summary>
    /// <param name="ids">[B, T] int64 ids.</param>
    /// <param name="cache">The cache from <see cref="Prefill"/>.</param>
    /// <returns>[B, T, width] final hidden states.</returns>
    public Tensor Decode(Tensor ids, KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.NextPosition is null || cache.KeyMask is null)
        {
            throw new InvalidOperationException("Decode needs a cache filled by Prefill.");
        }

        using var scope = NewDisposeScope();
        long b = ids.shape[0], t = ids.shape[1];
        var device = ids.device;
        var (positions, keyMask, bias) = cache.NextStep(t);
        var embeddings = _text.Embed(ids);
        var (cos, sin) = QwenRotary.Multimodal(positions.unsqueeze(0).expand(3, b, t), InverseFrequencies(device), Config.Text.MropeSection, embeddings.dtype);
        var hidden = _text.Forward(embeddings, cos, sin, bias, cache);
        cache.SetState(keyMask, positions.select(1, t - 1).PlusOne());
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Lays out the decoder's bias-free projections (MLP, attention output, vocabulary) for passes without gradient until
    /// the result is disposed: generation does this; layers with a bias or a LoRA adapter stay as they are.
    /// </summary>
    /// <returns>The unfuser.</returns>
    public IDisposable FuseProjections() => FusedProjection.Together(_text.FuseProjections().Append(_logits.Fuse()));

    /// <summary>Projects hidden states onto the vocabulary (the tied embeddings or <c>lm_head</c>).</summary>
    /// <param name="hidden">[..., width].</param>
    /// <returns>[..., vocab] logits.</returns>
    public Tensor Logits(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (_logits.Weight is Tensor output)
        {
            return hidden.matmul(output);
        }

        return _head is null ? hidden.matmul(_text.EmbeddingWeight.t()) : _head.forward(hidden);
    }

    // Derived from the config once per device (a handful of values) and held outside the module's registered state, so
    // that it follows the model across devices and is not mistaken for a checkpoint tensor. The caller's scope may
    // dispose the returned alias.
    private Tensor InverseFrequencies(Device device)
    {
        var held = _inverseFrequencies[0];
        if (held is null || held.device != device)
        {
            using var noGrad = no_grad();
            var fresh = QwenRotary.InverseFrequencies(Config.Text.HeadDim, Config.Text.RopeTheta, device).DetachFromDisposeScope();
            _inverseFrequencies[0] = fresh;
            held?.Dispose();
            held = fresh;
        }

        return held.alias();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inverseFrequencies[0]?.Dispose();
            _inverseFrequencies[0] = null;
        }

        base.Dispose(disposing);
    }
}
