using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Persistence;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Embeds an option text as hashed counts of its character n-grams (lower-cased, runs of non-letters and non-digits
/// turned into one space, a space added at both ends so word boundaries count). Needs no model, so it is the default
/// similarity when no policy is at hand. It measures spelling, not anatomy: "Cystic Plate" and "Liver" share nothing.
/// </summary>
public sealed class CharNGramEmbedder : OptionEmbedder, IPersistentComponent
{
    private const string SettingsFile = "char-ngram.json";

    /// <summary>Creates the embedder.</summary>
    /// <param name="minN">Shortest n-gram. Default 2.</param>
    /// <param name="maxN">Longest n-gram. Default 4.</param>
    /// <param name="dimension">Hash buckets (the embedding length). Default 2048.</param>
    /// <exception cref="ArgumentOutOfRangeException">1 ≤ minN ≤ maxN ≤ 8 and dimension ≥ 16 do not hold.</exception>
    public CharNGramEmbedder(int minN = 2, int maxN = 4, int dimension = 2048)
    {
        if (minN < 1 || maxN < minN || maxN > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(minN), $"n-gram lengths must satisfy 1 ≤ minN ≤ maxN ≤ 8; got minN = {minN}, maxN = {maxN}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 16);
        MinN = minN;
        MaxN = maxN;
        Dimension = dimension;
    }

    /// <summary>Shortest n-gram.</summary>
    public int MinN { get; }

    /// <summary>Longest n-gram.</summary>
    public int MaxN { get; }

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <inheritdoc />
    public override string Name => "char-ngram";

    /// <summary>Loads a saved embedder (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The embedder.</returns>
    public static CharNGramEmbedder LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string path = Path.Combine(context.Folder, SettingsFile);
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            return new CharNGramEmbedder(Field(o, "min_n", path), Field(o, "max_n", path), Field(o, "dimension", path));
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        var o = new JsonObject { ["min_n"] = MinN, ["max_n"] = MaxN, ["dimension"] = Dimension };
        File.WriteAllText(Path.Combine(folder, SettingsFile), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The normalised text the n-grams are taken from (with its boundary spaces).</summary>
    /// <param name="text">An option text.</param>
    /// <returns>The normalised text.</returns>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Span<char> buffer = text.Length <= 256 ? stackalloc char[text.Length + 2] : new char[text.Length + 2];
        return new string(buffer[..NormalizeInto(text, buffer)]);
    }

    private static int NormalizeInto(string text, Span<char> buffer)
    {
        int length = 0;
        buffer[length++] = ' ';
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                buffer[length++] = char.ToLowerInvariant(c);
            }
            else if (buffer[length - 1] != ' ')
            {
                buffer[length++] = ' ';
            }
        }

        if (buffer[length - 1] != ' ')
        {
            buffer[length++] = ' ';
        }

        return length;
    }

    /// <inheritdoc />
    protected override float[] EmbedRaw(string text)
    {
        var (indices, values) = EmbedSparseRaw(text);
        var v = new float[Dimension];
        for (int k = 0; k < indices.Length; k++)
        {
            v[indices[k]] = values[k];
        }

        return v;
    }

    /// <inheritdoc />
    protected override (int[] Indices, float[] Values) EmbedSparseRaw(string text)
    {
        Span<char> normalized = text.Length <= 256 ? stackalloc char[text.Length + 2] : new char[text.Length + 2];
        int length = NormalizeInto(text, normalized);
        ReadOnlySpan<char> s = normalized[..length];
        if (s.Length <= 2)
        {
            return (Array.Empty<int>(), Array.Empty<float>());
        }

        int total = 0;
        for (int n = MinN; n <= MaxN; n++)
        {
            total += Math.Max(0, s.Length - n + 1);
        }

        Span<int> buckets = total <= 1024 ? stackalloc int[total] : new int[total];
        int count = 0;
        for (int n = MinN; n <= MaxN; n++)
        {
            for (int start = 0; start + n <= s.Length; start++)
            {
                // FNV-1a over the n-gram's characters, salted with n so that grams of different lengths differ.
                uint h = 2166136261u ^ (uint)n;
                for (int k = start; k < start + n; k++)
                {
                    h = (h ^ s[k]) * 16777619u;
                }

                buckets[count++] = (int)(h % (uint)Dimension);
            }
        }

        buckets.Sort();
        int distinct = count == 0 ? 0 : 1;
        for (int i = 1; i < count; i++)
        {
            distinct += buckets[i] != buckets[i - 1] ? 1 : 0;
        }

        var indices = new int[distinct];
        var counts = new float[distinct];
        for (int i = 0, k = -1; i < count; i++)
        {
            if (k < 0 || buckets[i] != indices[k])
            {
                indices[++k] = buckets[i];
            }

            counts[k] += 1f;
        }

        return (indices, counts);
    }

    private static int Field(JsonObject o, string name, string path) =>
        o[name] is JsonValue value && value.TryGetValue(out int i) ? i : throw new InvalidDataException($"{path}: field '{name}' is missing or not an integer.");

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"char-ngram (n = {MinN}–{MaxN}, {Dimension} buckets)");
}
