using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.Persistence;

namespace AnatomyR1.Curriculum;

/// <summary>
/// Similarity from user-supplied vectors, one per option text (matched after trimming, ignoring case): for example
/// sentence embeddings computed elsewhere, or rows of an anatomy ontology embedding. A text without a vector is an
/// error that names it.
/// </summary>
public sealed class VectorOptionEmbedder : OptionEmbedder, IPersistentComponent
{
    private const string VectorsFile = "vectors.json";
    private readonly Dictionary<string, float[]> _vectors;

    /// <summary>Creates the embedder.</summary>
    /// <param name="vectors">Option text → vector; every vector has the same, non-zero length and finite values.</param>
    /// <exception cref="ArgumentException">No vectors, unequal lengths, non-finite values or two texts equal up to case; the message names the text.</exception>
    public VectorOptionEmbedder(IReadOnlyDictionary<string, float[]> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (vectors.Count == 0)
        {
            throw new ArgumentException("At least one option vector is needed.", nameof(vectors));
        }

        _vectors = new Dictionary<string, float[]>(StringComparer.OrdinalIgnoreCase);
        int dimension = vectors.First().Value?.Length ?? 0;
        foreach (var (text, vector) in vectors)
        {
            if (vector is null || vector.Length == 0 || vector.Length != dimension)
            {
                throw new ArgumentException($"The vector of '{text}' has {vector?.Length ?? 0} values; every vector must have {dimension} (> 0).", nameof(vectors));
            }

            if (vector.Any(f => !float.IsFinite(f)))
            {
                throw new ArgumentException($"The vector of '{text}' has a non-finite value.", nameof(vectors));
            }

            if (!_vectors.TryAdd(text.Trim(), (float[])vector.Clone()))
            {
                throw new ArgumentException($"Option '{text}' has two vectors (texts are matched ignoring case and surrounding spaces).", nameof(vectors));
            }
        }

        Dimension = dimension;
    }

    /// <inheritdoc />
    public override string Name => "vectors";

    /// <inheritdoc />
    public override int Dimension { get; }

    /// <summary>The option texts that have a vector.</summary>
    public IEnumerable<string> Texts => _vectors.Keys;

    /// <summary>
    /// Reads vectors from a JSON file holding one object whose members map option texts to arrays of numbers, e.g.
    /// <c>{"Liver": [0.1, 0.3], "Gut": [0.2, -0.1]}</c>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The embedder.</returns>
    /// <exception cref="InvalidDataException">The file is not such an object; the message names the file and the member.</exception>
    public static VectorOptionEmbedder FromJsonFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected one JSON object mapping option texts to arrays of numbers.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message}).", ex);
        }

        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (text, node) in root)
        {
            if (node is not JsonArray array)
            {
                throw new InvalidDataException($"{path}: member '{text}' is not an array of numbers.");
            }

            var v = new float[array.Count];
            for (int i = 0; i < array.Count; i++)
            {
                v[i] = array[i] is JsonValue value && value.TryGetValue(out double d) ? (float)d
                    : throw new InvalidDataException($"{path}: member '{text}', element {i} is not a number.");
            }

            vectors[text] = v;
        }

        try
        {
            return new VectorOptionEmbedder(vectors);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads a saved embedder (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The embedder.</returns>
    public static VectorOptionEmbedder LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return FromJsonFile(Path.Combine(context.Folder, VectorsFile));
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        var root = new JsonObject();
        foreach (var (text, v) in _vectors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            root[text] = new JsonArray(v.Select(f => (JsonNode)JsonValue.Create(f)).ToArray());
        }

        File.WriteAllText(Path.Combine(folder, VectorsFile), root.ToJsonString());
    }

    /// <inheritdoc />
    protected override float[] EmbedRaw(string text) =>
        _vectors.TryGetValue(text.Trim(), out var v) ? v
        : throw new ArgumentException($"Option '{text}' has no vector in the user-supplied table ({_vectors.Count} texts, e.g. {string.Join(", ", _vectors.Keys.Take(5).Select(k => $"'{k}'"))}).", nameof(text));
}
