namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The multimodal position rule of Qwen2.5-VL for still images. Within the unmasked tokens of a row, text counts up
/// from the previous maximum + 1; an image block (the run of <c>&lt;|image_pad|&gt;</c> tokens after a
/// <c>&lt;|vision_start|&gt;</c>) takes temporal position 0 and height/width positions equal to its merged-grid
/// coordinates, all offset by the position where the block starts; text after an image restarts at the block's
/// maximum + 1. Masked (padding) slots get position 1, as in the reference. The row's delta
/// (<c>max + 1 − row length</c>, padding included) turns a cache index into the next position while decoding.
/// </summary>
public static class QwenRopeIndex
{
    /// <summary>Computes positions for a batch.</summary>
    /// <param name="ids">[B·L] token ids, row-major.</param>
    /// <param name="mask">[B·L] 1 for real tokens, 0 for padding.</param>
    /// <param name="rows">B.</param>
    /// <param name="length">L.</param>
    /// <param name="grids">The (t, h, w) patch grid of every image, in order of appearance across the rows.</param>
    /// <param name="config">The model's configuration (token ids and merge size).</param>
    /// <returns>Positions [3·B·L] (axis-major: temporal, height, width) and each row's delta.</returns>
    /// <exception cref="ArgumentException">The image blocks do not match the grids.</exception>
    public static (long[] Positions, long[] Deltas) Compute(long[] ids, long[] mask, int rows, int length, IReadOnlyList<int[]> grids, QwenVLConfig config)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(grids);
        ArgumentNullException.ThrowIfNull(config);
        if (ids.Length != (long)rows * length || mask.Length != ids.Length)
        {
            throw new ArgumentException($"Expected {rows}×{length} ids and mask values.", nameof(ids));
        }

        int merge = config.Vision.SpatialMergeSize;
        long plane = (long)rows * length;
        var positions = new long[3 * plane];
        Array.Fill(positions, 1L);
        var deltas = new long[rows];
        int image = 0;
        for (int r = 0; r < rows; r++)
        {
            var slots = new List<int>();
            var tokens = new List<long>();
            for (int i = 0; i < length; i++)
            {
                if (mask[(r * length) + i] != 0)
                {
                    slots.Add(i);
                    tokens.Add(ids[(r * length) + i]);
                }
            }

            int images = 0;
            for (int i = 0; i + 1 < tokens.Count; i++)
            {
                if (tokens[i] == config.VisionStartTokenId && tokens[i + 1] == config.ImageTokenId)
                {
                    images++;
                }
            }

            var t = new long[tokens.Count];
            var h = new long[tokens.Count];
            var w = new long[tokens.Count];
            int st = 0, written = 0;
            long next = 0;
            for (int k = 0; k < images; k++)
            {
                int ed = tokens.IndexOf(config.ImageTokenId, st);
                if (ed < 0)
                {
                    throw new ArgumentException($"Row {r}: an image block has no <|image_pad|> tokens.", nameof(ids));
                }

                if (image >= grids.Count)
                {
                    throw new ArgumentException($"The batch has more image blocks than the {grids.Count} image grid(s) given.", nameof(grids));
                }

                var g = grids[image++];
                int gt = g[0], gh = g[1] / merge, gw = g[2] / merge;
                int textLength = ed - st;
                for (int i = 0; i < textLength; i++)
                {
                    t[written] = h[written] = w[written] = next + i;
                    written++;
                }

                long start = next + textLength;
                long max = start;
                for (int f = 0; f < gt; f++)
                {
                    for (int y = 0; y < gh; y++)
                    {
                        for (int x = 0; x < gw; x++)
                        {
                            if (written >= tokens.Count)
                            {
                                throw new ArgumentException($"Row {r}: image {image - 1} needs {gt * gh * gw} <|image_pad|> tokens but the row ends first.", nameof(ids));
                            }

                            // Still images: the temporal index is frame · 0 seconds · tokens_per_second = 0.
                            t[written] = start;
                            h[written] = start + y;
                            w[written] = start + x;
                            max = Math.Max(max, Math.Max(start + y, start + x));
                            written++;
                        }
                    }
                }

                next = max + 1;
                st = ed + (gt * gh * gw);
            }

            for (int i = st; i < tokens.Count; i++)
            {
                t[written] = h[written] = w[written] = next + (i - st);
                written++;
            }

            long rowMax = 0;
            for (int i = 0; i < tokens.Count; i++)
            {
                long p = (r * (long)length) + slots[i];
                positions[p] = t[i];
                positions[plane + p] = h[i];
                positions[(2 * plane) + p] = w[i];
                rowMax = Math.Max(rowMax, Math.Max(t[i], Math.Max(h[i], w[i])));
            }

            deltas[r] = tokens.Count == 0 ? 1 - length : rowMax + 1 - length;
        }

        if (image != grids.Count)
        {
            throw new ArgumentException($"The batch has {image} image block(s) but {grids.Count} image grid(s) were given.", nameof(grids));
        }

        return (positions, deltas);
    }
}
