using AnatomyR1.Curriculum;
using AnatomyR1.Persistence;
using System.Text.Json.Nodes;
using AnatomyR1.TorchSharp.Policy;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Curriculum;

/// <summary>
/// Embeds an option text as the mean of the policy's own input token embeddings over the option's tokens, so that
/// S(q) measures what the model itself finds alike. The embedding table is copied when the embedder is made: later
/// training of the policy does not change the scores (the curriculum stays fixed for a run).
/// </summary>
public sealed class PolicyTokenEmbedder : OptionEmbedder, IPersistentComponent
{
    private const string EmbeddingsFile = "token-embeddings.safetensors";
    private const string TokenizerFile = "tokenizer-kind.json";
    private const string TensorName = "embed_tokens.weight";
    private readonly IPolicyTokenizer _tokenizer;
    private readonly float[] _table;
    private readonly int _width;

    /// <summary>Copies the token embeddings and the tokenizer of a policy.</summary>
    /// <param name="policy">The policy (not kept).</param>
    public PolicyTokenEmbedder(IVisionLanguagePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _tokenizer = policy.Tokenizer;
        using var weight = policy.InputEmbeddings();
        // Models may pad their embedding table beyond the tokenizer (Qwen2.5-VL: 151,936 rows for 151,665 tokens);
        // only the rows a token can reach are kept.
        long rows = Math.Min(weight.shape[0], policy.Tokenizer.VocabSize);
        using var cpu = weight.narrow(0, 0, rows).contiguous();
        _table = cpu.data<float>().ToArray();
        _width = (int)weight.shape[1];
        CheckShape();
    }

    /// <summary>Creates the embedder from a tokenizer and a [vocabulary × width] table (row-major).</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="table">The embeddings.</param>
    /// <param name="width">The embedding width.</param>
    public PolicyTokenEmbedder(IPolicyTokenizer tokenizer, float[] table, int width)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _table = (float[])(table ?? throw new ArgumentNullException(nameof(table))).Clone();
        _width = width;
        CheckShape();
    }

    /// <inheritdoc />
    public override string Name => "policy-embeddings";

    /// <inheritdoc />
    public override int Dimension => _width;

    /// <summary>Loads a saved embedder (see <see cref="ComponentStore"/>).</summary>
    /// <param name="context">The load context.</param>
    /// <returns>The embedder.</returns>
    public static PolicyTokenEmbedder LoadComponent(ComponentLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string path = Path.Combine(context.Folder, EmbeddingsFile);
        var tensors = SafeTensors.Deserialize(File.ReadAllBytes(path), path);
        if (!tensors.TryGetValue(TensorName, out var t) || t.Shape.Length != 2)
        {
            throw new InvalidDataException($"{path}: tensor '{TensorName}' of rank 2 is missing.");
        }

        try
        {
            return new PolicyTokenEmbedder(PolicyRegistry.LoadTokenizer(TokenizerKind(context.Folder), context.Folder), t.Values, (int)t.Shape[1]);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        _tokenizer.Save(folder);
        File.WriteAllText(Path.Combine(folder, TokenizerFile), new JsonObject { ["kind"] = _tokenizer.Kind }.ToJsonString());
        using var scope = NewDisposeScope();
        var tensor = from_array(_table).reshape(_table.Length / _width, _width);
        File.WriteAllBytes(Path.Combine(folder, EmbeddingsFile), SafeTensors.Serialize(new Dictionary<string, Tensor> { [TensorName] = tensor }));
    }

    /// <inheritdoc />
    protected override float[] EmbedRaw(string text)
    {
        var ids = _tokenizer.Encode(text);
        var v = new float[_width];
        if (ids.Count == 0)
        {
            return v;
        }

        foreach (int id in ids)
        {
            int offset = id * _width;
            for (int i = 0; i < _width; i++)
            {
                v[i] += _table[offset + i];
            }
        }

        for (int i = 0; i < _width; i++)
        {
            v[i] /= ids.Count;
        }

        return v;
    }

    /// <summary>The tokenizer kind a saved embedder names; folders saved before the kind was recorded hold the built-in word vocabulary.</summary>
    private static string TokenizerKind(string folder)
    {
        string path = Path.Combine(folder, TokenizerFile);
        if (!File.Exists(path))
        {
            return PolicyRegistry.LegacyTokenizerKind;
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["kind"]?.GetValue<string>() ?? throw new InvalidDataException($"{path}: field 'kind' is missing.");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    private void CheckShape()
    {
        if (_width < 1 || _table.Length != _tokenizer.VocabSize * _width)
        {
            throw new ArgumentException($"The token embedding table has {_table.Length} values; the tokenizer's {_tokenizer.VocabSize} tokens × width {_width} need {_tokenizer.VocabSize * _width}.");
        }
    }
}
