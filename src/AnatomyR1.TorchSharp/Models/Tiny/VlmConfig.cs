using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// Architecture of <see cref="TinyVlm"/>: a convolutional image encoder pooled onto the scene's grid cells, a
/// projector to the language width, and a decoder-only language model (RMSNorm, rotary positions, SwiGLU, tied
/// embeddings). Stored as <c>config.json</c> beside the weights.
/// </summary>
public sealed record VlmConfig
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The <c>model_type</c> written into <c>config.json</c> (the registry key of this family).</summary>
    public string ModelType { get; init; } = TinyVlmPolicy.ModelTypeName;

    /// <summary>Preset name.</summary>
    public string Name { get; init; } = "tiny";

    /// <summary>Input image side in pixels (images are resized to it). Default 64.</summary>
    public int ImageSize { get; init; } = 64;

    /// <summary>Output channels of the stride-2 convolution layers. Default 24, 48, 96.</summary>
    public int[] ConvChannels { get; init; } = { 24, 48, 96 };

    /// <summary>Side of the pooled grid: Grid × Grid image tokens. Default 3 (the scenes' 3×3 cells).</summary>
    public int Grid { get; init; } = 3;

    /// <summary>Language model width. Default 128.</summary>
    public int Width { get; init; } = 128;

    /// <summary>Decoder layers. Default 4.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Attention heads. Default 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>SwiGLU hidden width. Default 352.</summary>
    public int MlpHidden { get; init; } = 352;

    /// <summary>Vocabulary size (set from the tokenizer).</summary>
    public int VocabSize { get; init; }

    /// <summary>Longest sequence (image tokens + prompt + completion). Default 256.</summary>
    public int MaxSequence { get; init; } = 256;

    /// <summary>Rotary base. Default 10,000.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>RMSNorm epsilon. Default 1e-5.</summary>
    public double NormEpsilon { get; init; } = 1e-5;

    /// <summary>Number of image tokens (Grid²).</summary>
    [JsonIgnore]
    public int ImageTokens => Grid * Grid;

    /// <summary>Per-head width.</summary>
    [JsonIgnore]
    public int HeadDim => Width / Heads;

    /// <summary>The named presets: <c>tiny</c> (default, ≈1.2 M parameters, for 2 CPU cores) and <c>small</c> (≈4 M).</summary>
    /// <param name="name">Preset name.</param>
    /// <param name="vocabSize">Vocabulary size.</param>
    /// <returns>The configuration.</returns>
    public static VlmConfig Preset(string name, int vocabSize) => name switch
    {
        "tiny" => new VlmConfig { VocabSize = vocabSize },
        "small" => new VlmConfig { Name = "small", Width = 192, Layers = 6, Heads = 6, MlpHidden = 512, ConvChannels = new[] { 32, 64, 128 }, VocabSize = vocabSize },
        _ => throw new ArgumentException($"Unknown preset '{name}'; use tiny or small.", nameof(name)),
    };

    /// <summary>Checks the configuration.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (ModelType != TinyVlmPolicy.ModelTypeName)
        {
            throw new ArgumentException($"This configuration is for model type '{ModelType}', not '{TinyVlmPolicy.ModelTypeName}'.");
        }

        if (VocabSize < 8 || Width < 8 || Layers < 1 || Heads < 1 || Width % Heads != 0 || HeadDim % 2 != 0
            || Grid < 1 || ConvChannels.Length == 0 || ImageSize < 8 || MaxSequence <= ImageTokens)
        {
            throw new ArgumentException($"Invalid model configuration: {ToJson()}");
        }

        // Upper bounds far above any sensible tiny model, so that a hostile file cannot ask for gigabytes.
        foreach (var (name, value, max) in new (string, long, long)[]
        {
            ("vocab_size", VocabSize, 1 << 20), ("width", Width, 8192), ("layers", Layers, 256), ("heads", Heads, 256),
            ("mlp_hidden", MlpHidden, 32768), ("image_size", ImageSize, 4096), ("grid", Grid, 64), ("max_sequence", MaxSequence, 1 << 16),
            ("conv_channels", ConvChannels.Length, 16), ("conv_channels (largest)", ConvChannels.Max(), 4096),
        })
        {
            if (value > max)
            {
                throw new ArgumentException($"Invalid model configuration: '{name}' = {value} exceeds {max}.");
            }
        }
    }

    /// <summary>Serialises to JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads JSON written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The text.</param>
    /// <returns>The configuration.</returns>
    public static VlmConfig FromJson(string json) => JsonSerializer.Deserialize<VlmConfig>(json, Json) ?? throw new JsonException("Empty model configuration.");
}
