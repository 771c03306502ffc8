using System.Runtime.InteropServices;
using AnatomyR1.TorchSharp.Policy;
using SkiaSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The Qwen2-VL / Qwen2.5-VL image processor, reproducing transformers' <c>Qwen2VLImageProcessor</c> (the PIL
/// path): the image becomes 8-bit RGB (transparency composited onto white), is resized with Pillow's bicubic filter to
/// the <see cref="SmartResize"/> size, rescaled and normalised per channel in float32, repeated to
/// <see cref="QwenImageProcessorOptions.TemporalPatchSize"/> frames and cut into flattened patches, a
/// [grid_t · grid_h · grid_w, 3 · temporal · patch · patch] matrix ([N, 1176] by default) whose rows are ordered so
/// that each 2 × 2 group of patches the model merges into one token is contiguous.
/// </summary>
/// <remarks>
/// <para>
/// A <see cref="PreparedImage"/> holds that matrix (shape [N, 1176]), <see cref="PreparedImage.TokenCount"/> = N /
/// merge² and <see cref="PreparedImage.Grid"/> = [grid_t, grid_h, grid_w] (grid_t is 1 for a still image).
/// <see cref="Collate"/> concatenates a batch's matrices along the first dimension into one float32 tensor
/// [ΣN, 1176]; each row's grid stays in <see cref="ImageBatch.Images"/>.
/// </para>
/// <para>
/// Inputs: files and encoded bytes are decoded by <see cref="PolicyImage.DecodeBitmap"/> (which refuses images above
/// <see cref="PolicyImage.MaxPixels"/> from their header, before decoding); planar float pixels in [0, 1] become
/// bytes as round(x · 255), ties to even, clamped to [0, 255] (NaN as 0), exactly as <see cref="PolicyImage"/>
/// turns them into a bitmap, and are held to the same <see cref="PolicyImage.MaxPixels"/> limit.
/// </para>
/// <para>
/// Deviations from the reference: the decoder is SkiaSharp's, not Pillow's (identical for PNG and BMP; JPEG decoders
/// may differ by a level in places; EXIF orientation is ignored by both). SkiaSharp decodes to premultiplied alpha,
/// so for a pixel with transparency the white composite is computed from the premultiplied value (premultiplied + 255
/// − alpha), which can differ from Pillow's <c>alpha_composite</c> by one level; opaque images are unaffected.
/// Images smaller than the factor (28) on a side, or with an aspect ratio above 200, are refused as the reference's
/// <c>smart_resize</c> refuses them, as an <see cref="InvalidDataException"/> naming the image.
/// </para>
/// </remarks>
public sealed class QwenImageProcessor : IImageProcessor
{
    private const int PrecisionBits = 32 - 8 - 2;

    private readonly float[][] _lookup;

    /// <summary>Creates the processor.</summary>
    /// <param name="options">The settings (default: transformers' defaults; use <see cref="QwenImageProcessorOptions.Load"/> for a model's).</param>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public QwenImageProcessor(QwenImageProcessorOptions? options = null)
    {
        Options = options ?? new QwenImageProcessorOptions();
        Options.Validate();
        _lookup = BuildLookup(Options);
    }

    /// <summary>The settings.</summary>
    public QwenImageProcessorOptions Options { get; }

    /// <summary>
    /// The reference's <c>smart_resize</c>: the size, both sides multiples of <paramref name="factor"/>, closest to
    /// the image's with between <paramref name="minPixels"/> and <paramref name="maxPixels"/> pixels. Each side is
    /// first rounded to the nearest multiple (Python's <c>round</c>, ties to even); when that has too many pixels
    /// both sides are scaled by β = √(h · w / max) and floored to multiples, when too few scaled by
    /// β = √(min / (h · w)) and ceiled, in double precision in the reference's order of operations. A floored side is
    /// at least one factor, as in newer transformers versions (older ones could return 0 for a very elongated image
    /// under a small bound); the errors are those of the versions that refuse sides below the factor.
    /// </summary>
    /// <param name="height">The image's height.</param>
    /// <param name="width">The image's width.</param>
    /// <param name="factor">The side multiple (patch size · merge size).</param>
    /// <param name="minPixels">Fewest pixels.</param>
    /// <param name="maxPixels">Most pixels.</param>
    /// <returns>The resized height and width.</returns>
    /// <exception cref="ArgumentException">
    /// A side is smaller than <paramref name="factor"/>, or the aspect ratio is above 200 (the reference's two
    /// errors), a bound or the factor is below 1, or the result does not fit an <see cref="int"/>.
    /// </exception>
    public static (int Height, int Width) SmartResize(int height, int width, int factor, long minPixels, long maxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minPixels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        if (height < factor || width < factor)
        {
            throw new ArgumentException($"height:{height} or width:{width} must be larger than factor:{factor}");
        }

        double ratio = (double)Math.Max(height, width) / Math.Min(height, width);
        if (ratio > 200)
        {
            throw new ArgumentException($"absolute aspect ratio must be smaller than 200, got {ratio}");
        }

        double hBar = Math.Round(height / (double)factor, MidpointRounding.ToEven) * factor;
        double wBar = Math.Round(width / (double)factor, MidpointRounding.ToEven) * factor;
        double pixels = (double)height * width;
        if (hBar * wBar > maxPixels)
        {
            double beta = Math.Sqrt(pixels / maxPixels);
            hBar = Math.Max(factor, Math.Floor(height / beta / factor) * factor);
            wBar = Math.Max(factor, Math.Floor(width / beta / factor) * factor);
        }
        else if (hBar * wBar < minPixels)
        {
            double beta = Math.Sqrt(minPixels / pixels);
            hBar = Math.Ceiling(height * beta / factor) * factor;
            wBar = Math.Ceiling(width * beta / factor) * factor;
        }

        if (hBar > int.MaxValue || wBar > int.MaxValue)
        {
            throw new ArgumentException($"smart resize of {height}×{width} to at least {minPixels} pixels gives {hBar}×{wBar}, too large.");
        }

        return ((int)hBar, (int)wBar);
    }

    /// <summary>
    /// Resizes interleaved 8-bit RGB with Pillow's bicubic filter (<c>Image.resize(size, BICUBIC)</c> on an RGB image):
    /// a separable convolution with the cubic kernel a = −0.5 whose support widens by the downscale factor
    /// (antialiasing), coefficients normalised to sum 1 and held in 22-bit fixed point, the horizontal pass first,
    /// each pass rounding and clipping to 8 bits. A side that keeps its size is not resampled; equal sizes return a copy.
    /// The output equals Pillow's for the same input.
    /// </summary>
    /// <param name="rgb">width · height · 3 bytes, row by row, R G B per pixel.</param>
    /// <param name="width">Input width.</param>
    /// <param name="height">Input height.</param>
    /// <param name="newWidth">Output width.</param>
    /// <param name="newHeight">Output height.</param>
    /// <returns>newWidth · newHeight · 3 bytes in the same layout.</returns>
    /// <exception cref="ArgumentException">A size is not positive or the byte count does not match.</exception>
    public static byte[] ResizeBicubicRgb(byte[] rgb, int width, int height, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (width < 1 || height < 1 || newWidth < 1 || newHeight < 1)
        {
            throw new ArgumentException($"Sizes must be positive (got {width}×{height} → {newWidth}×{newHeight}).");
        }

        if ((long)width * height * 3 != rgb.Length)
        {
            throw new ArgumentException($"A {width}×{height} RGB image has {3L * width * height} bytes, not {rgb.Length}.", nameof(rgb));
        }

        if ((long)newWidth * newHeight * 3 > Array.MaxLength)
        {
            throw new ArgumentException($"A {newWidth}×{newHeight} RGB image is too large.");
        }

        var (vBounds, vCoeffs, vTaps) = Coefficients(height, newHeight);
        byte[] source = rgb;
        int rowFirst = 0;
        if (newWidth != width)
        {
            // Only the rows the vertical pass reads are resampled horizontally.
            rowFirst = vBounds[0];
            int rowLast = vBounds[(2 * newHeight) - 2] + vBounds[(2 * newHeight) - 1];
            if (newHeight == height)
            {
                rowFirst = 0;
                rowLast = height;
            }

            source = Horizontal(rgb, width, rowFirst, rowLast, newWidth);
        }

        if (newHeight == height)
        {
            return ReferenceEquals(source, rgb) ? (byte[])rgb.Clone() : source;
        }

        return Vertical(source, newWidth, rowFirst, newHeight, vBounds, vCoeffs, vTaps);
    }

    /// <summary>The size an image of this size is resized to (its own size when resizing is off).</summary>
    /// <param name="height">The image's height.</param>
    /// <param name="width">The image's width.</param>
    /// <returns>Height and width after resizing.</returns>
    /// <exception cref="ArgumentException">The size is refused by <see cref="SmartResize"/>, or (resizing off) is not a multiple of the factor.</exception>
    public (int Height, int Width) TargetSize(int height, int width)
    {
        int factor = Options.Factor;
        if (Options.DoResize)
        {
            return SmartResize(height, width, factor, Options.MinPixels, Options.EffectiveMaxPixels);
        }

        if (height % factor != 0 || width % factor != 0)
        {
            throw new ArgumentException($"with resizing off, the image's sides must be multiples of {factor}, not {height}×{width}");
        }

        return (height, width);
    }

    /// <inheritdoc />
    public PreparedImage Prepare(PolicyImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (rgb, width, height) = ToRgb(image);
        return Prepare(rgb, width, height, image.Description);
    }

    /// <summary>Prepares interleaved 8-bit RGB pixels (resize, rescale, normalise, patch).</summary>
    /// <param name="rgb">width · height · 3 bytes, row by row, R G B per pixel.</param>
    /// <param name="width">Width.</param>
    /// <param name="height">Height.</param>
    /// <param name="name">What to call the image in errors.</param>
    /// <returns>The prepared image.</returns>
    /// <exception cref="InvalidDataException">The size is refused (too small, too elongated, or not a multiple of the factor with resizing off).</exception>
    public PreparedImage Prepare(byte[] rgb, int width, int height, string name = "image")
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (width < 1 || height < 1 || (long)width * height * 3 != rgb.Length)
        {
            throw new ArgumentException($"The {name} has {rgb.Length} bytes; a {width}×{height} RGB image needs {3L * Math.Max(width, 0) * Math.Max(height, 0)}.", nameof(rgb));
        }

        int targetHeight, targetWidth;
        try
        {
            (targetHeight, targetWidth) = TargetSize(height, width);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The {name} ({width}×{height}) cannot be prepared for Qwen2-VL: {ex.Message}", ex);
        }

        byte[] resized = targetWidth == width && targetHeight == height ? rgb : ResizeBicubicRgb(rgb, width, height, targetWidth, targetHeight);
        return Patchify(resized, targetWidth, targetHeight);
    }

    /// <inheritdoc />
    public ImageBatch Collate(IReadOnlyList<PreparedImage> images, Device device)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(device);
        int d = Options.PatchValues;
        long rows = 0;
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentException($"Image {i} of the batch is null.", nameof(images));
            long gridRows = image.Grid.Count == 3 ? (long)image.Grid[0] * image.Grid[1] * image.Grid[2] : -1;
            if (image.Shape.Length != 2 || image.Shape[1] != d || gridRows != image.Shape[0])
            {
                throw new ArgumentException($"Image {i} of the batch has shape [{string.Join(", ", image.Shape)}] and grid [{string.Join(", ", image.Grid)}]; this processor prepares [grid_t·grid_h·grid_w, {d}] with a 3-number grid. Prepare it with this policy's processor.", nameof(images));
            }

            rows += image.Shape[0];
        }

        if (rows * d > Array.MaxLength)
        {
            throw new ArgumentException($"The batch's {rows} patches are too many to collate at once.", nameof(images));
        }

        var data = new float[rows * d];
        long offset = 0;
        foreach (var image in images)
        {
            image.Values.CopyTo(data, offset);
            offset += image.Values.Length;
        }

        return new ImageBatch(tensor(data, new long[] { rows, d }, device: device), images);
    }

    private (byte[] Rgb, int Width, int Height) ToRgb(PolicyImage image)
    {
        if (image.PixelsOrNull() is { } planar)
        {
            int w = image.Width, h = image.Height;
            if ((long)w * h > PolicyImage.MaxPixels)
            {
                throw new InvalidDataException($"The {image.Description} has {w}×{h} pixels, more than PolicyImage.MaxPixels = {PolicyImage.MaxPixels:N0}.");
            }

            int plane = w * h;
            var rgb = new byte[3 * plane];
            for (int i = 0; i < plane; i++)
            {
                rgb[3 * i] = ToByte(planar[i]);
                rgb[(3 * i) + 1] = ToByte(planar[plane + i]);
                rgb[(3 * i) + 2] = ToByte(planar[(2 * plane) + i]);
            }

            return (rgb, w, h);
        }

        using var bitmap = image.DecodeBitmap();
        return (FromBitmap(bitmap, Options.DoConvertRgb), bitmap.Width, bitmap.Height);
    }

    private static byte[] FromBitmap(SKBitmap bitmap, bool compositeOnWhite)
    {
        int w = bitmap.Width, h = bitmap.Height;
        var rgb = new byte[3L * w * h];
        if (bitmap.ColorType != SKColorType.Rgba8888 || bitmap.AlphaType != SKAlphaType.Premul)
        {
            // Not the layout PolicyImage decodes to: go through unpremultiplied colours.
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    int o = 3 * ((y * w) + x);
                    int white = compositeOnWhite ? 255 - c.Alpha : 0;
                    rgb[o] = (byte)(((c.Red * c.Alpha) + 127) / 255 + white);
                    rgb[o + 1] = (byte)(((c.Green * c.Alpha) + 127) / 255 + white);
                    rgb[o + 2] = (byte)(((c.Blue * c.Alpha) + 127) / 255 + white);
                }
            }

            return rgb;
        }

        var pixels = bitmap.GetPixelSpan();
        int stride = bitmap.RowBytes;
        for (int y = 0; y < h; y++)
        {
            var row = pixels.Slice(y * stride, 4 * w);
            for (int x = 0; x < w; x++)
            {
                int o = 3 * ((y * w) + x);
                int white = compositeOnWhite ? 255 - row[(4 * x) + 3] : 0;
                rgb[o] = (byte)Math.Min(255, row[4 * x] + white);
                rgb[o + 1] = (byte)Math.Min(255, row[(4 * x) + 1] + white);
                rgb[o + 2] = (byte)Math.Min(255, row[(4 * x) + 2] + white);
            }
        }

        return rgb;
    }

    private static byte ToByte(float v) => float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp((int)Math.Round(Math.Clamp(v, -1f, 2f) * 255f), 0, 255);

    private PreparedImage Patchify(byte[] rgb, int width, int height)
    {
        int p = Options.PatchSize, m = Options.MergeSize, t = Options.TemporalPatchSize;
        int gridH = height / p, gridW = width / p;
        int blocksH = gridH / m, blocksW = gridW / m;
        int d = Options.PatchValues;
        long rows = (long)gridH * gridW;
        if (rows * d > Array.MaxLength)
        {
            throw new InvalidDataException($"A {width}×{height} image makes {rows} patches, too many for one array.");
        }

        var values = new float[rows * d];
        int row = 0;
        for (int hb = 0; hb < blocksH; hb++)
        {
            for (int wb = 0; wb < blocksW; wb++)
            {
                for (int hi = 0; hi < m; hi++)
                {
                    for (int wi = 0; wi < m; wi++, row++)
                    {
                        int top = ((hb * m) + hi) * p, left = ((wb * m) + wi) * p;
                        int col = row * d;
                        for (int c = 0; c < 3; c++)
                        {
                            var lut = _lookup[c];
                            int frameStart = col;
                            for (int py = 0; py < p; py++)
                            {
                                int src = ((((top + py) * width) + left) * 3) + c;
                                for (int px = 0; px < p; px++, src += 3)
                                {
                                    values[col++] = lut[rgb[src]];
                                }
                            }

                            // A still image is its own every frame: repeat the first frame's values.
                            int frame = p * p;
                            for (int f = 1; f < t; f++)
                            {
                                Array.Copy(values, frameStart, values, col, frame);
                                col += frame;
                            }
                        }
                    }
                }
            }
        }

        return new PreparedImage(values, new long[] { rows, d }, (int)(rows / (m * m)), new[] { 1, gridH, gridW });
    }

    private static float[][] BuildLookup(QwenImageProcessorOptions options)
    {
        var lookup = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            lookup[c] = new float[256];
            float mean = (float)options.ImageMean[c], std = (float)options.ImageStd[c];
            for (int v = 0; v < 256; v++)
            {
                // transformers: rescale in float64 then cast to float32; normalise in float32 with float32 mean and std.
                float x = options.DoRescale ? (float)(v * options.RescaleFactor) : v;
                lookup[c][v] = options.DoNormalize ? (x - mean) / std : x;
            }
        }

        return lookup;
    }

    private static double Bicubic(double x)
    {
        const double A = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }

        if (x < 1.0)
        {
            return ((((A + 2.0) * x) - (A + 3.0)) * x * x) + 1;
        }

        if (x < 2.0)
        {
            return (((((x - 5) * x) + 8) * x) - 4) * A;
        }

        return 0.0;
    }

    /// <summary>Pillow's per-output-pixel taps: first input index and count, and 22-bit fixed-point weights.</summary>
    private static (int[] Bounds, int[] Coefficients, int Taps) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 2.0 * filterScale;
        int taps = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[2 * outSize];
        var fixedPoint = new int[outSize * taps];
        var weights = new double[taps];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double sum = 0.0;
            double inverse = 1.0 / filterScale;
            int xmin = (int)(center - support + 0.5);
            if (xmin < 0)
            {
                xmin = 0;
            }

            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize)
            {
                xmax = inSize;
            }

            xmax -= xmin;
            for (int x = 0; x < xmax; x++)
            {
                double w = Bicubic((x + xmin - center + 0.5) * inverse);
                weights[x] = w;
                sum += w;
            }

            for (int x = 0; x < xmax; x++)
            {
                double k = sum != 0.0 ? weights[x] / sum : weights[x];
                fixedPoint[(xx * taps) + x] = k < 0
                    ? (int)(-0.5 + (k * (1 << PrecisionBits)))
                    : (int)(0.5 + (k * (1 << PrecisionBits)));
            }

            bounds[2 * xx] = xmin;
            bounds[(2 * xx) + 1] = xmax;
        }

        return (bounds, fixedPoint, taps);
    }

    private static byte Clip8(int accumulator)
    {
        int v = accumulator >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    private static byte[] Horizontal(byte[] rgb, int width, int rowFirst, int rowLast, int newWidth)
    {
        var (bounds, coefficients, taps) = Coefficients(width, newWidth);
        int rows = rowLast - rowFirst;
        var output = new byte[3L * newWidth * rows];
        for (int y = 0; y < rows; y++)
        {
            int inRow = (rowFirst + y) * width * 3;
            int outRow = y * newWidth * 3;
            for (int xx = 0; xx < newWidth; xx++)
            {
                int xmin = bounds[2 * xx], count = bounds[(2 * xx) + 1], k = xx * taps;
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                int src = inRow + (3 * xmin);
                for (int x = 0; x < count; x++, src += 3)
                {
                    int w = coefficients[k + x];
                    r += rgb[src] * w;
                    g += rgb[src + 1] * w;
                    b += rgb[src + 2] * w;
                }

                int o = outRow + (3 * xx);
                output[o] = Clip8(r);
                output[o + 1] = Clip8(g);
                output[o + 2] = Clip8(b);
            }
        }

        return output;
    }

    private static byte[] Vertical(byte[] rgb, int width, int rowFirst, int newHeight, int[] bounds, int[] coefficients, int taps)
    {
        var output = new byte[3L * width * newHeight];
        int rowBytes = 3 * width;
        for (int yy = 0; yy < newHeight; yy++)
        {
            int ymin = bounds[2 * yy] - rowFirst, count = bounds[(2 * yy) + 1], k = yy * taps;
            int outRow = yy * rowBytes;
            for (int i = 0; i < rowBytes; i++)
            {
                int acc = 1 << (PrecisionBits - 1);
                int src = (ymin * rowBytes) + i;
                for (int y = 0; y < count; y++, src += rowBytes)
                {
                    acc += rgb[src] * coefficients[k + y];
                }

                output[outRow + i] = Clip8(acc);
            }
        }

        return output;
    }
}
