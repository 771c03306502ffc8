using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The Qwen2.5-VL vision tower: patch embedding, 2-D rotary positions, blocks that attend inside 112-px windows
/// (or over each whole image in the blocks of <c>fullatt_block_indexes</c>), and the 2×2 merger. Patches are
/// reordered window by window before the blocks and restored after the merger, as in the reference.
/// </summary>
public sealed class QwenVisionTransformer : nn.Module
{
    [ComponentName(Name = "patch_embed")]
    private readonly QwenVisionPatchEmbed _patchEmbed;
    [ComponentName(Name = "blocks")]
    private readonly ModuleList<QwenVisionBlock> _blocks;
    [ComponentName(Name = "merger")]
    private readonly QwenPatchMerger _merger;
    private readonly QwenVisionConfig _config;

    /// <summary>Creates the tower with random weights.</summary>
    /// <param name="config">The tower's settings.</param>
    public QwenVisionTransformer(QwenVisionConfig config)
        : base(nameof(QwenVisionTransformer))
    {
        _config = config;
        _patchEmbed = new QwenVisionPatchEmbed(config);
        _blocks = new ModuleList<QwenVisionBlock>();
        for (int i = 0; i < config.Depth; i++)
        {
            _blocks.Add(new QwenVisionBlock(config));
        }

        _merger = new QwenPatchMerger(config);
        RegisterComponents();
    }

    /// <summary>The tower's settings.</summary>
    public QwenVisionConfig Config => _config;

    /// <summary>Encodes packed images into decoder tokens.</summary>
    /// <param name="patches">[ΣN, C·T·P·P] flattened patches of all images, in the image processor's order.</param>
    /// <param name="grids">Each image's (t, h, w) patch grid, in order.</param>
    /// <returns>[ΣN / 4, text width] image tokens, image by image in raster order of merged cells.</returns>
    public Tensor Forward(Tensor patches, IReadOnlyList<int[]> grids)
    {
        ArgumentNullException.ThrowIfNull(patches);
        ArgumentNullException.ThrowIfNull(grids);
        long expected = grids.Sum(g => (long)g[0] * g[1] * g[2]);
        if (patches.shape[0] != expected)
        {
            throw new ArgumentException($"{patches.shape[0]} patches do not match the grids' {expected}.", nameof(patches));
        }

        using var scope = NewDisposeScope();
        var device = patches.device;
        int unit = _config.SpatialMergeSize * _config.SpatialMergeSize;
        var (windowIndex, windowBounds) = WindowIndex(grids, _config);
        var imageBounds = ImageBounds(grids);
        var order = tensor(windowIndex.Select(i => (long)i).ToArray(), device: device);

        var hidden = _patchEmbed.forward(patches);
        long n = hidden.shape[0];
        hidden = hidden.reshape(n / unit, unit, -1).index_select(0, order).reshape(n, -1);
        var angles = RotaryAngles(grids, _config, device);
        angles = angles.reshape(n / unit, unit, -1).index_select(0, order).reshape(n, -1);
        var emb = cat(new[] { angles, angles }, -1);
        var cos = emb.cos();
        var sin = emb.sin();
        var windowMask = SegmentMask(windowBounds, n, device);
        var imageMask = SegmentMask(imageBounds, n, device);
        for (int i = 0; i < _blocks.Count; i++)
        {
            var mask = _config.FullAttentionBlocks.Contains(i) ? imageMask : windowMask;
            hidden = _blocks[i].Forward(hidden, cos, sin, mask);
        }

        var merged = _merger.forward(hidden);
        var restore = order.argsort();
        return merged.index_select(0, restore).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The window order of merged cells and the cumulative window boundaries (in patches), as the reference computes
    /// them: each image's merged grid is padded to whole windows of <see cref="QwenVisionConfig.WindowTokens"/> cells,
    /// windows are taken row by row, cells inside a window row by row, padding dropped; empty windows vanish from the
    /// boundaries.
    /// </summary>
    /// <param name="grids">Each image's (t, h, w) patch grid.</param>
    /// <param name="config">The tower's settings.</param>
    /// <returns>The cell order and the boundaries (starting with 0, strictly increasing).</returns>
    public static (int[] Index, int[] Boundaries) WindowIndex(IReadOnlyList<int[]> grids, QwenVisionConfig config)
    {
        ArgumentNullException.ThrowIfNull(grids);
        ArgumentNullException.ThrowIfNull(config);
        int merge = config.SpatialMergeSize, window = config.WindowTokens, unit = merge * merge;
        var index = new List<int>();
        var bounds = new List<int> { 0 };
        int offset = 0;
        foreach (var g in grids)
        {
            int t = g[0], h = g[1] / merge, w = g[2] / merge;
            int padH = window - (h % window), padW = window - (w % window);
            int windowsH = (h + padH) / window, windowsW = (w + padW) / window;
            for (int f = 0; f < t; f++)
            {
                for (int wy = 0; wy < windowsH; wy++)
                {
                    for (int wx = 0; wx < windowsW; wx++)
                    {
                        int count = 0;
                        for (int y = wy * window; y < (wy + 1) * window; y++)
                        {
                            for (int x = wx * window; x < (wx + 1) * window; x++)
                            {
                                if (y < h && x < w)
                                {
                                    index.Add(offset + (f * h * w) + (y * w) + x);
                                    count++;
                                }
                            }
                        }

                        if (count > 0)
                        {
                            bounds.Add(bounds[^1] + (count * unit));
                        }
                    }
                }
            }

            offset += t * h * w;
        }

        return (index.ToArray(), bounds.ToArray());
    }

    /// <summary>
    /// Each patch's (row, column) in its image, in the packed order (2×2 merge groups consecutive), repeated per frame.
    /// </summary>
    /// <param name="grids">Each image's (t, h, w) patch grid.</param>
    /// <param name="merge">The merge size.</param>
    /// <returns>Row and column per patch.</returns>
    public static (int[] Rows, int[] Columns) PatchPositions(IReadOnlyList<int[]> grids, int merge)
    {
        ArgumentNullException.ThrowIfNull(grids);
        var rows = new List<int>();
        var cols = new List<int>();
        foreach (var g in grids)
        {
            int t = g[0], h = g[1], w = g[2];
            for (int f = 0; f < t; f++)
            {
                for (int by = 0; by < h / merge; by++)
                {
                    for (int bx = 0; bx < w / merge; bx++)
                    {
                        for (int iy = 0; iy < merge; iy++)
                        {
                            for (int ix = 0; ix < merge; ix++)
                            {
                                rows.Add((by * merge) + iy);
                                cols.Add((bx * merge) + ix);
                            }
                        }
                    }
                }
            }
        }

        return (rows.ToArray(), cols.ToArray());
    }

    private static Tensor RotaryAngles(IReadOnlyList<int[]> grids, QwenVisionConfig config, Device device)
    {
        using var scope = NewDisposeScope();
        var (rows, cols) = PatchPositions(grids, config.SpatialMergeSize);
        var inv = QwenRotary.InverseFrequencies(config.HeadDim / 2, 10000.0, device);
        var r = tensor(rows.Select(v => (float)v).ToArray(), device: device).unsqueeze(1) * inv;
        var c = tensor(cols.Select(v => (float)v).ToArray(), device: device).unsqueeze(1) * inv;
        return cat(new[] { r, c }, 1).MoveToOuterDisposeScope();
    }

    private static int[] ImageBounds(IReadOnlyList<int[]> grids)
    {
        var bounds = new List<int> { 0 };
        foreach (var g in grids)
        {
            for (int f = 0; f < g[0]; f++)
            {
                bounds.Add(bounds[^1] + (g[1] * g[2]));
            }
        }

        return bounds.ToArray();
    }

    private static Tensor SegmentMask(int[] bounds, long n, Device device)
    {
        var segment = new long[n];
        for (int s = 0; s + 1 < bounds.Length; s++)
        {
            for (int i = bounds[s]; i < bounds[s + 1]; i++)
            {
                segment[i] = s;
            }
        }

        using var ids = tensor(segment, device: device);
        using var same = ids.unsqueeze(1).eq(ids.unsqueeze(0));
        return FixedScalars.AdditiveMask(same);
    }
}
