using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// A policy's image processor: turns any <see cref="PolicyImage"/> (a file, bytes or pixels of any size) into the
/// model's input layout, and collates prepared images into a batch on a device. Images may yield different numbers
/// of image tokens; a batch may mix them.
/// </summary>
public interface IImageProcessor
{
    /// <summary>Decodes, resizes and normalises one image into the model's layout.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The prepared image.</returns>
    /// <exception cref="FileNotFoundException">The image file does not exist.</exception>
    /// <exception cref="InvalidDataException">The image cannot be decoded; the message names it.</exception>
    PreparedImage Prepare(PolicyImage image);

    /// <summary>Puts prepared images (one per prompt row, in row order) on a device as one batch.</summary>
    /// <param name="images">The images.</param>
    /// <param name="device">The device.</param>
    /// <returns>The batch (the caller disposes it).</returns>
    ImageBatch Collate(IReadOnlyList<PreparedImage> images, Device device);
}
