using AnatomyR1.Curriculum;
using AnatomyR1.Persistence;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Tokenization;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Curriculum;

/// <summary>
/// Embeds an option text as the mean of the policy's own input token embeddings over the option's tokens, so that
/// S(q) measures what the model itself finds alike. The embedding table is copied when the embedder is made: later
/// training of the policy does not change the scores (the curriculum stays fixed for a run).
/// </summary>
public sealed class PolicyTokenEmbedder : OptionEmbedder, IPersistentComponent
{
    private const string VocabularyFile = "vocab.txt";
    private const string EmbeddingsFile = "token-embeddings.safetensors";
    private const string TensorName = "embed_tokens.weight";
    private readonly VlmTokenizer _tokenizer;
    private readonly float[] _table;
    private readonly int _width;

    /// <summary>Copies the token embeddings and the tokenizer of a policy.</summary>
    /// <param name="policy">The policy (not kept).</param>
    public PolicyTokenEmbedder(TinyVlmPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _tokenizer = policy.Tokenizer;
        var weight = policy.Model.named_parameters().FirstOrDefault(p => p.name == TensorName).parameter
            ?? throw new InvalidOperationException($"The policy has no '{TensorName}' parameter.");
        using var cpu = weight.detach().cpu().contiguous();
        _table = cpu.data<float>().ToArray();
        _width = (int)weight.shape[1];
        CheckShape();
    }

    /// <summary>Creates the embedder from a tokenizer and a [vocabulary × width] table (row-major).</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="table">The embeddings.</param>
    /// <param name="width">The embedding width.</param>
    public PolicyTokenEmbedder(VlmTokenizer tokenizer, float[] table, int width)
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
            return new PolicyTokenEmbedder(VlmTokenizer.Load(Path.Combine(context.Folder, VocabularyFile)), t.Values, (int)t.Shape[1]);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void SaveComponent(string folder)
    {
        _tokenizer.Save(Path.Combine(folder, VocabularyFile));
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

    private void CheckShape()
    {
        if (_width < 1 || _table.Length != _tokenizer.VocabSize * _width)
        {
            throw new ArgumentException($"The token embedding table has {_table.Length} values; the tokenizer's {_tokenizer.VocabSize} tokens × width {_width} need {_tokenizer.VocabSize * _width}.");
        }
    }
}
