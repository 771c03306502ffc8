using System.Collections.Concurrent;
using SkiaSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Loads images into the [3, S, S] float layout the policies take (RGB, values in [0, 1]), with a cache.</summary>
public sealed class ImageTensors
{
    private readonly ConcurrentDictionary<string, float[]> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates a loader.</summary>
    /// <param name="size">Side to resize to.</param>
    public ImageTensors(int size) => Size = size;

    /// <summary>The side in pixels.</summary>
    public int Size { get; }

    /// <summary>Decodes (and resizes) one image file to channel-major floats in [0, 1].</summary>
    /// <param name="path">The image file.</param>
    /// <returns>3·S·S values.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image.</exception>
    public float[] Load(string path) => _cache.GetOrAdd(path, p =>
    {
        if (!File.Exists(p))
        {
            throw new FileNotFoundException($"Image '{p}' does not exist.", p);
        }

        using var decoded = SKBitmap.Decode(p) ?? throw new InvalidDataException($"Image '{p}' could not be decoded.");
        return Resized(decoded, Size);
    });

    /// <summary>Decodes (and resizes) an encoded image (PNG, JPEG, BMP, GIF or WebP bytes) to channel-major floats in [0, 1].</summary>
    /// <param name="encoded">The encoded image.</param>
    /// <param name="name">What to call the image in an error message.</param>
    /// <returns>3·S·S values, identical to <see cref="Load"/> on a file with the same bytes.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image.</exception>
    public float[] Decode(ReadOnlySpan<byte> encoded, string name = "image")
    {
        using var data = SKData.CreateCopy(encoded);
        using var decoded = SKBitmap.Decode(data) ?? throw new InvalidDataException($"The {name} ({encoded.Length} bytes) could not be decoded as an image.");
        return Resized(decoded, Size);
    }

    private static float[] Resized(SKBitmap decoded, int size)
    {
        using var resized = decoded.Width == size && decoded.Height == size && decoded.ColorType == SKColorType.Rgba8888
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul), SKFilterQuality.Medium);
        return FromBitmap(resized);
    }

    /// <summary>Converts a bitmap of side S to channel-major floats in [0, 1].</summary>
    /// <param name="bitmap">The bitmap.</param>
    /// <returns>3·S·S values.</returns>
    public static float[] FromBitmap(SKBitmap bitmap)
    {
        int w = bitmap.Width, h = bitmap.Height;
        var values = new float[3 * w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                var c = bitmap.GetPixel(x, y);
                int i = (y * w) + x;
                values[i] = c.Red / 255f;
                values[(w * h) + i] = c.Green / 255f;
                values[(2 * w * h) + i] = c.Blue / 255f;
            }
        }

        return values;
    }

    /// <summary>Stacks images into a [B, 3, S, S] tensor on a device.</summary>
    /// <param name="images">Channel-major images.</param>
    /// <param name="device">The device.</param>
    /// <returns>The batch.</returns>
    public Tensor Batch(IReadOnlyList<float[]> images, Device device)
    {
        int plane = 3 * Size * Size;
        var data = new float[images.Count * plane];
        for (int i = 0; i < images.Count; i++)
        {
            images[i].CopyTo(data, i * plane);
        }

        return tensor(data, new long[] { images.Count, 3, Size, Size }, device: device);
    }
}
