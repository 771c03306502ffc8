using AnatomyR1.TorchSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.Testing.Policies;

/// <summary>Configuration of <see cref="PatchLm"/>.</summary>
public sealed record PatchLmConfig
{
    /// <summary>Model width.</summary>
    public int Width { get; init; } = 48;

    /// <summary>Transformer _blocks.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Patch side in pixels.</summary>
    public int Patch { get; init; } = 8;

    /// <summary>Longest image side after resizing.</summary>
    public int MaxSide { get; init; } = 32;

    /// <summary>Longest sequence (image tokens, prompt and completion).</summary>
    public int MaxSequence { get; init; } = 512;

    /// <summary>Vocabulary size.</summary>
    public int VocabSize { get; init; }

    /// <summary>Most patch rows or columns.</summary>
    public int MaxGrid => (MaxSide / Patch) + 1;
}

/// <summary>
/// A deliberately different architecture from the built-in model: linear patch embedding with learned row and column
/// embeddings (a variable number of image tokens per image), learned absolute positions, LayerNorm, fused QKV with
/// bias, GELU MLP and an untied output head.
/// </summary>
public sealed class PatchLm : nn.Module
{
    [ComponentName(Name = "patch_embed")]
    private readonly Linear _patchEmbed;
    [ComponentName(Name = "patch_row")]
    private readonly Embedding _patchRow;
    [ComponentName(Name = "patch_col")]
    private readonly Embedding _patchCol;
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embedTokens;
    [ComponentName(Name = "embed_positions")]
    private readonly Embedding _embedPositions;
    [ComponentName(Name = "blocks")]
    private readonly ModuleList<PatchBlock> _blocks;
    [ComponentName(Name = "final_norm")]
    private readonly LayerNorm _finalNorm;
    [ComponentName(Name = "lm_head")]
    private readonly Linear _lmHead;

    /// <summary>Creates the model with random weights.</summary>
    /// <param name="config">The configuration.</param>
    public PatchLm(PatchLmConfig config)
        : base(nameof(PatchLm))
    {
        Config = config;
        _patchEmbed = nn.Linear(3 * config.Patch * config.Patch, config.Width);
        _patchRow = nn.Embedding(config.MaxGrid, config.Width);
        _patchCol = nn.Embedding(config.MaxGrid, config.Width);
        _embedTokens = nn.Embedding(config.VocabSize, config.Width);
        _embedPositions = nn.Embedding(config.MaxSequence, config.Width);
        _blocks = new ModuleList<PatchBlock>();
        for (int i = 0; i < config.Layers; i++)
        {
            _blocks.Add(new PatchBlock(config.Width, config.Heads));
        }

        _finalNorm = nn.LayerNorm(config.Width);
        _lmHead = nn.Linear(config.Width, config.VocabSize);
        using (no_grad())
        {
            foreach (var e in new[] { _patchRow, _patchCol, _embedTokens, _embedPositions })
            {
                e.weight!.normal_(0, 0.02);
            }
        }

        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public PatchLmConfig Config { get; }

    /// <summary>The image-side modules' parameters.</summary>
    /// <returns>The parameters.</returns>
    public IEnumerable<Parameter> VisionParameters() => _patchEmbed.parameters().Concat(_patchRow.parameters()).Concat(_patchCol.parameters());

    /// <summary>The token embedding weight.</summary>
    public Tensor TokenEmbeddingWeight => _embedTokens.weight!;

    /// <summary>Embeds concatenated patches [ΣN, 3·P·P] with their row and column embeddings.</summary>
    /// <param name="patches">The patches.</param>
    /// <param name="grids">Each image's (rows, columns), in order.</param>
    /// <returns>[ΣN, D].</returns>
    public Tensor EmbedPatches(Tensor patches, IReadOnlyList<(int Rows, int Cols)> grids)
    {
        var rows = grids.SelectMany(g => Enumerable.Range(0, g.Rows * g.Cols).Select(i => (long)(i / g.Cols))).ToArray();
        var cols = grids.SelectMany(g => Enumerable.Range(0, g.Rows * g.Cols).Select(i => (long)(i % g.Cols))).ToArray();
        using var r = tensor(rows, device: patches.device);
        using var c = tensor(cols, device: patches.device);
        return _patchEmbed.forward(patches) + _patchRow.forward(r) + _patchCol.forward(c);
    }

    /// <summary>Embeds token ids.</summary>
    /// <param name="ids">Ids [B, T].</param>
    /// <returns>[B, T, D].</returns>
    public Tensor EmbedTokens(Tensor ids) => _embedTokens.forward(ids);

    /// <summary>Runs the transformer over embeddings [B, T, D] at absolute positions [B, T] with an additive mask [B, 1, T, L].</summary>
    /// <param name="x">Embeddings.</param>
    /// <param name="positions">Positions.</param>
    /// <param name="mask">Additive mask over cached and new keys.</param>
    /// <param name="cache">KV cache to extend, or null.</param>
    /// <returns>Logits [B, T, V].</returns>
    public Tensor Forward(Tensor x, Tensor positions, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x + _embedPositions.forward(positions);
        for (int i = 0; i < _blocks.Count; i++)
        {
            h = _blocks[i].Forward(h, mask, cache, i);
        }

        return _lmHead.forward(_finalNorm.forward(h)).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-norm block with LayerNorm, fused-QKV attention and a GELU MLP.</summary>
public sealed class PatchBlock : nn.Module
{
    [ComponentName(Name = "norm1")]
    private readonly LayerNorm _norm1;
    [ComponentName(Name = "qkv")]
    private readonly Linear _qkv;
    [ComponentName(Name = "proj")]
    private readonly Linear _proj;
    [ComponentName(Name = "norm2")]
    private readonly LayerNorm _norm2;
    [ComponentName(Name = "fc1")]
    private readonly Linear _fc1;
    [ComponentName(Name = "fc2")]
    private readonly Linear _fc2;
    private readonly int _heads;

    /// <summary>Creates the block.</summary>
    /// <param name="width">Width.</param>
    /// <param name="heads">Heads.</param>
    public PatchBlock(int width, int heads)
        : base(nameof(PatchBlock))
    {
        _heads = heads;
        _norm1 = nn.LayerNorm(width);
        _qkv = nn.Linear(width, 3 * width);
        _proj = nn.Linear(width, width);
        _norm2 = nn.LayerNorm(width);
        _fc1 = nn.Linear(width, 4 * width);
        _fc2 = nn.Linear(4 * width, width);
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">[B, T, D].</param>
    /// <param name="mask">Additive mask [B, 1, T, L].</param>
    /// <param name="cache">KV cache or null.</param>
    /// <param name="layer">Layer index.</param>
    /// <returns>[B, T, D].</returns>
    public Tensor Forward(Tensor x, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var parts = _qkv.forward(_norm1.forward(x)).view(b, t, 3, _heads, d / _heads).permute(2, 0, 3, 1, 4);
        Tensor q = parts[0], k = parts[1], v = parts[2];
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k.contiguous(), v.contiguous());
        }

        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask);
        var h = x + _proj.forward(attended.transpose(1, 2).reshape(b, t, d));
        return (h + _fc2.forward(nn.functional.gelu(_fc1.forward(_norm2.forward(h))))).MoveToOuterDisposeScope();
    }
}
