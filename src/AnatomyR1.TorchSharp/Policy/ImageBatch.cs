using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The images of a batch on the policy's device, one per prompt row, as its <see cref="IImageProcessor"/> collated
/// them: a stacked tensor when every image has the same shape, or the rows' values concatenated along the first
/// dimension when images yield different numbers of tokens (<see cref="TokenCounts"/> says where each row's part
/// ends). Disposes its tensor.
/// </summary>
public sealed class ImageBatch : IDisposable
{
    /// <summary>Creates a batch.</summary>
    /// <param name="values">The collated values.</param>
    /// <param name="images">The prepared images, one per row, in row order.</param>
    public ImageBatch(Tensor values, IReadOnlyList<PreparedImage> images)
    {
        Values = values ?? throw new ArgumentNullException(nameof(values));
        Images = images ?? throw new ArgumentNullException(nameof(images));
        TokenCounts = images.Select(i => i.TokenCount).ToArray();
    }

    /// <summary>The collated values on the device.</summary>
    public Tensor Values { get; }

    /// <summary>The prepared images, one per row.</summary>
    public IReadOnlyList<PreparedImage> Images { get; }

    /// <summary>Image tokens per row.</summary>
    public IReadOnlyList<int> TokenCounts { get; }

    /// <summary>Rows.</summary>
    public int Count => Images.Count;

    /// <summary>True when every row has the same number of image tokens.</summary>
    public bool Uniform => TokenCounts.Count == 0 || TokenCounts.All(c => c == TokenCounts[0]);

    /// <inheritdoc />
    public void Dispose() => Values.Dispose();
}
