namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// One image after a policy's <see cref="IImageProcessor"/>: the model-ready values with their shape, how many image
/// tokens the model will spend on it, and an optional grid description (for example Qwen2.5-VL's temporal, height
/// and width patch counts). Held on the host so a training set's images are processed once and batched many times.
/// </summary>
public sealed class PreparedImage
{
    /// <summary>Creates a prepared image.</summary>
    /// <param name="values">The values, row-major in <paramref name="shape"/>.</param>
    /// <param name="shape">Their shape.</param>
    /// <param name="tokenCount">Image tokens the model produces from it (at least 1).</param>
    /// <param name="grid">Processor-specific grid sizes; empty when not needed.</param>
    /// <exception cref="ArgumentException">The values do not fill the shape, or the token count is below 1.</exception>
    public PreparedImage(float[] values, long[] shape, int tokenCount, IReadOnlyList<int>? grid = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length || shape.Any(d => d < 1))
        {
            throw new ArgumentException($"A prepared image of shape [{string.Join(", ", shape)}] needs {count} values, not {values.Length}.", nameof(values));
        }

        if (tokenCount < 1)
        {
            throw new ArgumentException($"A prepared image must yield at least one image token (got {tokenCount}).", nameof(tokenCount));
        }

        Values = values;
        Shape = shape;
        TokenCount = tokenCount;
        Grid = grid ?? Array.Empty<int>();
    }

    /// <summary>The values.</summary>
    public float[] Values { get; }

    /// <summary>Their shape.</summary>
    public long[] Shape { get; }

    /// <summary>How many image tokens the model spends on this image.</summary>
    public int TokenCount { get; }

    /// <summary>Processor-specific grid sizes (empty when the processor needs none).</summary>
    public IReadOnlyList<int> Grid { get; }
}
