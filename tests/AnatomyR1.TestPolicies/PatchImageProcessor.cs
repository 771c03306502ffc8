using AnatomyR1.TorchSharp.Policy;
using static TorchSharp.torch;

namespace AnatomyR1.Testing.Policies;

/// <summary>
/// Keeps the aspect ratio: the longer side is scaled to at most <see cref="MaxSide"/> and both sides are rounded to
/// multiples of the patch size, so images of different shapes yield different numbers of patch tokens
/// ([N, 3·P·P], N = rows · columns). Batches concatenate the rows' patches.
/// </summary>
public sealed class PatchImageProcessor : IImageProcessor
{
    /// <summary>Creates the processor.</summary>
    /// <param name="patch">Patch side P.</param>
    /// <param name="maxSide">Longest side after resizing.</param>
    public PatchImageProcessor(int patch, int maxSide)
    {
        Patch = patch;
        MaxSide = maxSide;
    }

    /// <summary>Patch side.</summary>
    public int Patch { get; }

    /// <summary>Longest side after resizing.</summary>
    public int MaxSide { get; }

    /// <inheritdoc />
    public PreparedImage Prepare(PolicyImage image)
    {
        var (w, h) = image.Size();
        double scale = Math.Min(1.0, (double)MaxSide / Math.Max(w, h));
        int cols = Math.Max(1, (int)Math.Round(w * scale / Patch));
        int rows = Math.Max(1, (int)Math.Round(h * scale / Patch));
        int width = cols * Patch, height = rows * Patch;
        float[] planar = image.ResizedPlanar(width, height);
        int p = Patch;
        var values = new float[rows * cols * 3 * p * p];
        int k = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                for (int ch = 0; ch < 3; ch++)
                {
                    for (int y = 0; y < p; y++)
                    {
                        for (int x = 0; x < p; x++)
                        {
                            values[k++] = planar[(ch * width * height) + (((r * p) + y) * width) + (c * p) + x];
                        }
                    }
                }
            }
        }

        return new PreparedImage(values, new long[] { rows * cols, 3 * p * p }, rows * cols, new[] { rows, cols });
    }

    /// <inheritdoc />
    public ImageBatch Collate(IReadOnlyList<PreparedImage> images, Device device)
    {
        int dim = 3 * Patch * Patch;
        var data = images.SelectMany(i => i.Values).ToArray();
        return new ImageBatch(tensor(data, new long[] { data.Length / dim, dim }, device: device), images);
    }
}
