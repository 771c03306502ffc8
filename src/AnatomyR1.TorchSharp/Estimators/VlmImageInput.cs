using AnatomyR1.Data;

namespace AnatomyR1.TorchSharp.Estimators;

/// <summary>
/// Where the policy's images come from in an <see cref="Microsoft.ML.IDataView"/>: an image-path text column, an ML.NET
/// image column (<c>LoadImages</c>, optionally <c>ResizeImages</c>), or a pixel vector column as produced by
/// <c>LoadImages → ResizeImages → ExtractPixels</c> (planar R, G, B — the ExtractPixels default). Any size: the policy's
/// image processor resizes.
/// </summary>
public sealed record VlmImageInput
{
    /// <summary>Text column with the image file, used when <see cref="PixelsColumn"/> is null. Default <c>ImagePath</c>.</summary>
    public string ImagePathColumn { get; init; } = VqaColumns.ImagePath;

    /// <summary>Float-vector column of planar RGB pixels; null reads <see cref="ImageColumn"/> or <see cref="ImagePathColumn"/>. Default null.</summary>
    public string? PixelsColumn { get; init; }

    /// <summary>ML.NET image column (<c>LoadImages</c>' output type), used when <see cref="PixelsColumn"/> is null; null reads <see cref="ImagePathColumn"/>. Default null.</summary>
    public string? ImageColumn { get; init; }

    /// <summary>Multiplies every pixel value to bring it into [0, 1]. Default 1/255 (ExtractPixels' default output is 0–255).</summary>
    public float PixelScale { get; init; } = 1f / 255f;

    /// <summary>Reads image paths (the default).</summary>
    public static VlmImageInput Paths { get; } = new();

    /// <summary>Reads ML.NET images from a column (for example <c>LoadImages</c>' output).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The setting.</returns>
    public static VlmImageInput FromImages(string column) => new() { ImageColumn = column };

    /// <summary>The column the images are read from.</summary>
    public string SourceColumn => PixelsColumn ?? ImageColumn ?? ImagePathColumn;

    /// <summary>Reads pixel vectors from a column.</summary>
    /// <param name="column">The column.</param>
    /// <param name="scale">Scale into [0, 1].</param>
    /// <returns>The setting.</returns>
    public static VlmImageInput FromPixels(string column, float scale = 1f / 255f) => new() { PixelsColumn = column, PixelScale = scale };
}
