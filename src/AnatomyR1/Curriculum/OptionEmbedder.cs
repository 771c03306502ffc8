using System.Collections.Concurrent;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Base of the embedding-based similarity measures: embeds each option text once (cached, thread-safe), normalises
/// it to unit length and returns the cosine of two embeddings. Embeddings with few non-zero entries (hashed n-grams)
/// are kept sparse, so their cosine costs a merge of two short index lists. A text whose embedding is all zeros has
/// similarity 0 to everything but itself.
/// </summary>
public abstract class OptionEmbedder : IOptionSimilarity
{
    private readonly ConcurrentDictionary<string, Unit> _cache = new(StringComparer.Ordinal);
    private int _cached;

    /// <summary>Most option texts kept in the embedding cache (later texts are embedded on every use). Default 200,000.</summary>
    public int CacheCapacity { get; init; } = 200_000;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>Length of the embedding vectors.</summary>
    public abstract int Dimension { get; }

    /// <summary>The unit-length embedding of an option text (a new array).</summary>
    /// <param name="text">The option text.</param>
    /// <returns>The embedding; all zeros when the text has no features.</returns>
    public float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unit = Normalized(text);
        if (unit.Indices is null)
        {
            return (float[])unit.Values.Clone();
        }

        var dense = new float[Dimension];
        for (int k = 0; k < unit.Indices.Length; k++)
        {
            dense[unit.Indices[k]] = unit.Values[k];
        }

        return dense;
    }

    /// <inheritdoc />
    public float Similarity(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return 1f;
        }

        return (float)Math.Clamp(Dot(Normalized(a), Normalized(b)), -1.0, 1.0);
    }

    /// <summary>The raw (not yet normalised) embedding of a text; called at most once per cached text.</summary>
    /// <param name="text">The option text.</param>
    /// <returns>A vector of <see cref="Dimension"/> values.</returns>
    protected abstract float[] EmbedRaw(string text);

    /// <summary>
    /// The raw embedding as sorted distinct indices and their values. The default converts <see cref="EmbedRaw"/>;
    /// embedders with few features override it to skip the dense vector.
    /// </summary>
    /// <param name="text">The option text.</param>
    /// <returns>Indices (ascending, distinct) and values.</returns>
    protected virtual (int[] Indices, float[] Values) EmbedSparseRaw(string text)
    {
        var dense = EmbedRaw(text);
        if (dense.Length != Dimension)
        {
            throw new InvalidOperationException($"{Name}: the embedding of '{text}' has {dense.Length} values; expected {Dimension}.");
        }

        int nonZero = dense.Count(v => v != 0);
        var indices = new int[nonZero];
        var values = new float[nonZero];
        for (int i = 0, k = 0; i < dense.Length; i++)
        {
            if (dense[i] != 0)
            {
                indices[k] = i;
                values[k++] = dense[i];
            }
        }

        return (indices, values);
    }

    private static double Dot(Unit x, Unit y)
    {
        if (x.Indices is null && y.Indices is null)
        {
            double sum = 0;
            for (int i = 0; i < x.Values.Length; i++)
            {
                sum += x.Values[i] * y.Values[i];
            }

            return sum;
        }

        if (x.Indices is null)
        {
            (x, y) = (y, x);
        }

        if (y.Indices is null)
        {
            double sum = 0;
            for (int k = 0; k < x.Indices!.Length; k++)
            {
                sum += x.Values[k] * y.Values[x.Indices[k]];
            }

            return sum;
        }

        double merged = 0;
        int[] xi = x.Indices!, yi = y.Indices;
        for (int p = 0, q = 0; p < xi.Length && q < yi.Length;)
        {
            if (xi[p] == yi[q])
            {
                merged += x.Values[p++] * y.Values[q++];
            }
            else if (xi[p] < yi[q])
            {
                p++;
            }
            else
            {
                q++;
            }
        }

        return merged;
    }

    private Unit Normalized(string text)
    {
        if (_cache.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var (indices, values) = EmbedSparseRaw(text);
        double norm = 0;
        foreach (float f in values)
        {
            norm += (double)f * f;
        }

        norm = Math.Sqrt(norm);
        var scaled = new float[values.Length];
        if (norm > 0)
        {
            for (int i = 0; i < values.Length; i++)
            {
                scaled[i] = (float)(values[i] / norm);
            }
        }

        Unit unit;
        if (indices.Length * 4 <= Dimension)
        {
            unit = new Unit(indices, scaled);
        }
        else
        {
            var dense = new float[Dimension];
            for (int k = 0; k < indices.Length; k++)
            {
                dense[indices[k]] = scaled[k];
            }

            unit = new Unit(null, dense);
        }

        // ConcurrentDictionary.Count takes every lock; a separate counter keeps the bound cheap.
        if (Volatile.Read(ref _cached) < CacheCapacity && _cache.TryAdd(text, unit))
        {
            Interlocked.Increment(ref _cached);
        }

        return unit;
    }

    /// <summary>A unit-length embedding: sparse (indices + values) or dense (indices null).</summary>
    private sealed record Unit(int[]? Indices, float[] Values);
}
