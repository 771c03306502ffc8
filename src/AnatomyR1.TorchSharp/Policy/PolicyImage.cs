using AnatomyR1.IO;
using SkiaSharp;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// One input image, whatever its source — a file, encoded bytes (PNG, JPEG, BMP, GIF, WebP) or planar RGB pixels of
/// any size — before a policy's <see cref="IImageProcessor"/> turns it into model input. Decoding is lazy and checks
/// the declared size against <see cref="MaxPixels"/> before any pixel memory is allocated. A file is read through
/// <see cref="SafeFile"/>: only a regular file (also through a link; a directory, FIFO, device or socket is refused
/// without being read or blocking) of at most <see cref="MaxFileBytes"/>, checked before reading.
/// </summary>
public sealed class PolicyImage
{
    private readonly string? _path;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly float[]? _pixels;

    private PolicyImage(string description, string? path, ReadOnlyMemory<byte> bytes, float[]? pixels, int width, int height)
    {
        Description = description;
        _path = path;
        _bytes = bytes;
        _pixels = pixels;
        Width = width;
        Height = height;
    }

    /// <summary>Largest image accepted, in pixels (width × height), checked from the header before decoding. Default 40,000,000.</summary>
    public static long MaxPixels { get; set; } = 40_000_000;

    /// <summary>
    /// Largest image file read, in bytes, compared with the file's size before any byte is read. Default 256 MiB
    /// (<see cref="SafeFile.DefaultMaxBytes"/>): more than any image within <see cref="MaxPixels"/> takes, even uncompressed.
    /// </summary>
    public static long MaxFileBytes { get; set; } = SafeFile.DefaultMaxBytes;

    /// <summary>What the image is called in error messages: its file, or the name given with its bytes.</summary>
    public string Description { get; }

    /// <summary>The file the image comes from, or null.</summary>
    public string? Path => _path;

    /// <summary>Width in pixels when known without decoding (pixel images), else 0.</summary>
    public int Width { get; }

    /// <summary>Height in pixels when known without decoding (pixel images), else 0.</summary>
    public int Height { get; }

    /// <summary>An image file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The image (decoded when a processor asks for it).</returns>
    public static PolicyImage FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new PolicyImage($"image '{path}'", path, default, null, 0, 0);
    }

    /// <summary>An encoded image.</summary>
    /// <param name="encoded">PNG, JPEG, BMP, GIF or WebP bytes (kept, not copied).</param>
    /// <param name="name">What to call the image in an error message.</param>
    /// <returns>The image.</returns>
    public static PolicyImage FromBytes(ReadOnlyMemory<byte> encoded, string name = "image") =>
        new($"{name} ({encoded.Length} bytes)", null, encoded, null, 0, 0);

    /// <summary>Planar RGB pixels in [0, 1] (all red values row by row, then green, then blue: ML.NET <c>ExtractPixels</c>' default order).</summary>
    /// <param name="planarRgb">3 · <paramref name="width"/> · <paramref name="height"/> values (kept, not copied).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="name">What to call the image in an error message.</param>
    /// <returns>The image.</returns>
    /// <exception cref="ArgumentException">The value count does not match the size.</exception>
    public static PolicyImage FromPixels(float[] planarRgb, int width, int height, string name = "pixel image")
    {
        ArgumentNullException.ThrowIfNull(planarRgb);
        if (width < 1 || height < 1 || (long)width * height * 3 != planarRgb.Length)
        {
            throw new ArgumentException($"The {name} has {planarRgb.Length} values; a {width}×{height} RGB image needs 3·{width}·{height} = {3L * Math.Max(width, 0) * Math.Max(height, 0)}.", nameof(planarRgb));
        }

        return new PolicyImage($"{name} ({width}×{height})", null, default, planarRgb, width, height);
    }

    /// <summary>Planar RGB pixels of a square image (side = √(values / 3)).</summary>
    /// <param name="planarRgb">3 · S · S values in [0, 1].</param>
    /// <param name="name">What to call the image in an error message.</param>
    /// <returns>The image.</returns>
    /// <exception cref="ArgumentException">The value count is not 3 · S².</exception>
    public static PolicyImage FromSquarePixels(float[] planarRgb, string name = "pixel image")
    {
        ArgumentNullException.ThrowIfNull(planarRgb);
        int side = (int)Math.Round(Math.Sqrt(planarRgb.Length / 3.0));
        if (side < 1 || 3L * side * side != planarRgb.Length)
        {
            throw new ArgumentException($"The {name} has {planarRgb.Length} values, which is not 3·S·S for any side S; give its width and height.", nameof(planarRgb));
        }

        return FromPixels(planarRgb, side, side, name);
    }

    /// <summary>The planar pixels when the image was given as pixels, else null.</summary>
    /// <returns>The values (not a copy).</returns>
    public float[]? PixelsOrNull() => _pixels;

    /// <summary>Decodes the image to an RGBA bitmap (the caller disposes it).</summary>
    /// <returns>The bitmap.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a regular file or is larger than <see cref="MaxFileBytes"/>;
    /// the data is not a decodable image, is truncated, or is larger than <see cref="MaxPixels"/>.</exception>
    public SKBitmap DecodeBitmap()
    {
        if (_pixels is not null)
        {
            return ToBitmap(_pixels, Width, Height);
        }

        byte[] bytes;
        if (_path is not null)
        {
            try
            {
                bytes = SafeFile.ReadAllBytes(_path, new SafeFileOptions { What = "image", MaxBytes = MaxFileBytes, MaxBytesName = "PolicyImage.MaxFileBytes" });
            }
            catch (FileRefusedException ex)
            {
                throw new InvalidDataException(ex.Message, ex);
            }
        }
        else
        {
            bytes = _bytes.ToArray();
        }

        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new InvalidDataException($"The {Description} could not be decoded as an image.");
        var info = codec.Info;
        if ((long)info.Width * info.Height > MaxPixels)
        {
            throw new InvalidDataException($"The {Description} declares {info.Width}×{info.Height} pixels, more than PolicyImage.MaxPixels = {MaxPixels:N0}.");
        }

        var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException($"The {Description} could not be decoded ({result}{(result == SKCodecResult.IncompleteInput ? ": the data is truncated" : string.Empty)}).");
        }

        return bitmap;
    }

    /// <summary>Converts a bitmap to planar RGB floats in [0, 1].</summary>
    /// <param name="bitmap">The bitmap.</param>
    /// <returns>3 · width · height values.</returns>
    public static float[] ToPlanar(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
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

    /// <summary>Resizes to exactly <paramref name="width"/> × <paramref name="height"/> and returns planar RGB in [0, 1] (no resampling when the size already matches).</summary>
    /// <param name="width">Target width.</param>
    /// <param name="height">Target height.</param>
    /// <returns>3 · width · height values.</returns>
    public float[] ResizedPlanar(int width, int height)
    {
        if (_pixels is not null && Width == width && Height == height)
        {
            return _pixels;
        }

        using var decoded = DecodeBitmap();
        using var resized = decoded.Width == width && decoded.Height == height && decoded.ColorType == SKColorType.Rgba8888
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul), SKFilterQuality.Medium);
        return ToPlanar(resized);
    }

    /// <summary>The image's size, decoding its header (or the whole image for pixel images, which know it).</summary>
    /// <returns>Width and height.</returns>
    public (int Width, int Height) Size()
    {
        if (_pixels is not null)
        {
            return (Width, Height);
        }

        using var bitmap = DecodeBitmap();
        return (bitmap.Width, bitmap.Height);
    }

    private static SKBitmap ToBitmap(float[] planar, int w, int h)
    {
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        int plane = w * h;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = (y * w) + x;
                bitmap.SetPixel(x, y, new SKColor(ToByte(planar[i]), ToByte(planar[plane + i]), ToByte(planar[(2 * plane) + i])));
            }
        }

        return bitmap;
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)Math.Round(v * 255f), 0, 255);

    /// <inheritdoc />
    public override string ToString() => Description;
}
