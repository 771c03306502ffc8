using System.Collections.Concurrent;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Base of the embedding-based similarity measures: embeds each option text once (cached, thread-safe), normalises
/// it to unit length and returns the cosine of two embeddings. A text whose embedding is all zeros has similarity 0
/// to everything but itself.
/// </summary>
public abstract class OptionEmbedder : IOptionSimilarity
{
    private readonly ConcurrentDictionary<string, float[]> _cache = new(StringComparer.Ordinal);

    /// <summary>Most option texts kept in the embedding cache (later texts are embedded on every use). Default 200,000.</summary>
    public int CacheCapacity { get; init; } = 200_000;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>Length of the embedding vectors.</summary>
    public abstract int Dimension { get; }

    /// <summary>The unit-length embedding of an option text (a copy).</summary>
    /// <param name="text">The option text.</param>
    /// <returns>The embedding; all zeros when the text has no features.</returns>
    public float[] Embed(string text) => (float[])Normalized(text).Clone();

    /// <inheritdoc />
    public float Similarity(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return 1f;
        }

        var x = Normalized(a);
        var y = Normalized(b);
        double dot = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += x[i] * y[i];
        }

        return (float)Math.Clamp(dot, -1.0, 1.0);
    }

    /// <summary>The raw (not yet normalised) embedding of a text; called at most once per cached text.</summary>
    /// <param name="text">The option text.</param>
    /// <returns>A vector of <see cref="Dimension"/> values.</returns>
    protected abstract float[] EmbedRaw(string text);

    private float[] Normalized(string text)
    {
        if (_cache.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var v = EmbedRaw(text);
        if (v.Length != Dimension)
        {
            throw new InvalidOperationException($"{Name}: the embedding of '{text}' has {v.Length} values; expected {Dimension}.");
        }

        double norm = 0;
        foreach (float f in v)
        {
            norm += (double)f * f;
        }

        norm = Math.Sqrt(norm);
        var unit = new float[v.Length];
        if (norm > 0)
        {
            for (int i = 0; i < v.Length; i++)
            {
                unit[i] = (float)(v[i] / norm);
            }
        }

        if (_cache.Count < CacheCapacity)
        {
            _cache.TryAdd(text, unit);
        }

        return unit;
    }
}
