using AnatomyR1.TorchSharp.Policy;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// The tiny model's image processor: any image is resized to the model's square side (SkiaSharp, medium filter
/// quality; pixel images already at that side pass through unchanged) and kept as planar RGB in [0, 1], [3, S, S].
/// Every image yields Grid² image tokens; a batch stacks to [B, 3, S, S].
/// </summary>
public sealed class TinyImageProcessor : IImageProcessor
{
    /// <summary>Creates the processor.</summary>
    /// <param name="size">The square side S.</param>
    /// <param name="tokens">Image tokens per image (Grid²).</param>
    public TinyImageProcessor(int size, int tokens)
    {
        if (size < 1 || tokens < 1)
        {
            throw new ArgumentException($"Image size and token count must be positive (got {size}, {tokens}).");
        }

        Size = size;
        Tokens = tokens;
    }

    /// <summary>The square side in pixels.</summary>
    public int Size { get; }

    /// <summary>Image tokens per image.</summary>
    public int Tokens { get; }

    /// <inheritdoc />
    public PreparedImage Prepare(PolicyImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new PreparedImage(image.ResizedPlanar(Size, Size), new long[] { 3, Size, Size }, Tokens);
    }

    /// <inheritdoc />
    public ImageBatch Collate(IReadOnlyList<PreparedImage> images, Device device)
    {
        ArgumentNullException.ThrowIfNull(images);
        int plane = 3 * Size * Size;
        var data = new float[images.Count * plane];
        for (int i = 0; i < images.Count; i++)
        {
            if (images[i].Values.Length != plane)
            {
                throw new ArgumentException($"Image {i} of the batch has {images[i].Values.Length} values; this processor prepares 3·{Size}·{Size} = {plane}. Prepare it with this policy's processor.", nameof(images));
            }

            images[i].Values.CopyTo(data, i * plane);
        }

        return new ImageBatch(tensor(data, new long[] { images.Count, 3, Size, Size }, device: device), images);
    }
}
