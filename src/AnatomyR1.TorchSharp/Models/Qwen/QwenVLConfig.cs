using System.Text.Json;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The configuration of a Qwen2.5-VL checkpoint, read from a Hugging Face <c>config.json</c> in either layout: the
/// flat one (text fields at the top level, <c>vision_config</c> nested) or the nested one (<c>text_config</c> and
/// <c>vision_config</c> objects). Every dimension is bounds-checked when read, and <see cref="ParameterCount"/> gives
/// the number of weights the configuration implies, so a loader can compare it with the checkpoint before it
/// allocates anything.
/// </summary>
public sealed class QwenVLConfig
{
    /// <summary>The <c>model_type</c> of Qwen2.5-VL checkpoints.</summary>
    public const string ModelTypeName = "qwen2_5_vl";

    /// <summary>Upper bound accepted for any width (hidden, intermediate) dimension.</summary>
    public const int MaxWidth = 1 << 17;

    /// <summary>Upper bound accepted for the vocabulary size.</summary>
    public const int MaxVocabulary = 1 << 22;

    /// <summary>Upper bound accepted for layer and block counts.</summary>
    public const int MaxLayers = 1024;

    /// <summary>The text decoder's settings.</summary>
    public required QwenTextConfig Text { get; init; }

    /// <summary>The vision tower's settings.</summary>
    public required QwenVisionConfig Vision { get; init; }

    /// <summary><c>model_type</c> as written in the file.</summary>
    public string ModelType { get; init; } = ModelTypeName;

    /// <summary>Id of <c>&lt;|image_pad|&gt;</c>, the placeholder replaced by image embeddings (151655 in the released models).</summary>
    public int ImageTokenId { get; init; } = 151655;

    /// <summary>Id of <c>&lt;|video_pad|&gt;</c> (151656); videos are not supported, the id is only recognised.</summary>
    public int VideoTokenId { get; init; } = 151656;

    /// <summary>Id of <c>&lt;|vision_start|&gt;</c> (151652), which precedes every image block.</summary>
    public int VisionStartTokenId { get; init; } = 151652;

    /// <summary>Id of <c>&lt;|vision_end|&gt;</c> (151653).</summary>
    public int VisionEndTokenId { get; init; } = 151653;

    /// <summary>Whether the output head shares the token embedding matrix (no <c>lm_head.weight</c> in the checkpoint).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>The end-of-sequence id from the config, if it names one (<c>eos_token_id</c>).</summary>
    public int? EosTokenId { get; init; }

    /// <summary>The beginning/padding id from the config, if it names one (<c>bos_token_id</c>, <c>pad_token_id</c>).</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Reads a <c>config.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="InvalidDataException">A field is missing, of the wrong type or out of bounds; the message names the file and the field.</exception>
    public static QwenVLConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException ex)
        {
            throw new InvalidDataException($"{path}: cannot be read ({ex.Message}).", ex);
        }

        return Parse(text, path);
    }

    /// <summary>Parses <c>config.json</c> text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">The file name, for errors.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="InvalidDataException">A field is missing, of the wrong type or out of bounds.</exception>
    public static QwenVLConfig Parse(string json, string source = "config.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({ex.Message}).", ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: the top level must be a JSON object.");
            }

            var reader = new FieldReader(source, root);
            var textReader = root.TryGetProperty("text_config", out var textElement) && textElement.ValueKind == JsonValueKind.Object
                ? new FieldReader(source, textElement, "text_config.", root)
                : reader;
            if (!root.TryGetProperty("vision_config", out var visionElement) || visionElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: 'vision_config' is missing or not an object.");
            }

            var visionReader = new FieldReader(source, visionElement, "vision_config.");
            string modelType = reader.String("model_type", ModelTypeName);
            var text = QwenTextConfig.Read(textReader);
            var vision = QwenVisionConfig.Read(visionReader);
            var config = new QwenVLConfig
            {
                Text = text,
                Vision = vision,
                ModelType = modelType,
                ImageTokenId = textReader.Int("image_token_id", 151655, 0, MaxVocabulary),
                VideoTokenId = textReader.Int("video_token_id", 151656, 0, MaxVocabulary),
                VisionStartTokenId = textReader.Int("vision_start_token_id", 151652, 0, MaxVocabulary),
                VisionEndTokenId = textReader.Int("vision_end_token_id", 151653, 0, MaxVocabulary),
                TieWordEmbeddings = textReader.Bool("tie_word_embeddings", false),
                EosTokenId = textReader.OptionalInt("eos_token_id", 0, MaxVocabulary),
                PadTokenId = textReader.OptionalInt("pad_token_id", 0, MaxVocabulary) ?? textReader.OptionalInt("bos_token_id", 0, MaxVocabulary),
            };
            config.Validate(source);
            return config;
        }
    }

    /// <summary>Checks the cross-field rules (head counts divide widths, M-RoPE sections cover half a head, token ids inside the vocabulary).</summary>
    /// <param name="source">The file name, for errors.</param>
    /// <exception cref="InvalidDataException">A rule is broken; the message names the fields.</exception>
    public void Validate(string source = "config.json")
    {
        Text.Validate(source);
        Vision.Validate(source);
        foreach (var (name, id) in new[] { ("image_token_id", ImageTokenId), ("video_token_id", VideoTokenId), ("vision_start_token_id", VisionStartTokenId), ("vision_end_token_id", VisionEndTokenId) })
        {
            if (id >= Text.VocabSize)
            {
                throw new InvalidDataException($"{source}: '{name}' = {id} is outside the vocabulary of {Text.VocabSize} tokens.");
            }
        }
    }

    /// <summary>The number of weights this configuration implies (the vision tower, the decoder, and the output head when it is not tied).</summary>
    public long ParameterCount => Vision.ParameterCount + Text.ParameterCount(TieWordEmbeddings);

    /// <summary>Writes the configuration in the flat Hugging Face layout (readable by <see cref="Parse"/> and by transformers).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var rope = new Dictionary<string, object> { ["type"] = "mrope", ["rope_type"] = "default", ["mrope_section"] = Text.MropeSection };
        var document = new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "Qwen2_5_VLForConditionalGeneration" },
            ["model_type"] = ModelType,
            ["vocab_size"] = Text.VocabSize,
            ["hidden_size"] = Text.HiddenSize,
            ["intermediate_size"] = Text.IntermediateSize,
            ["num_hidden_layers"] = Text.Layers,
            ["num_attention_heads"] = Text.Heads,
            ["num_key_value_heads"] = Text.KeyValueHeads,
            ["rms_norm_eps"] = Text.RmsNormEpsilon,
            ["rope_theta"] = Text.RopeTheta,
            ["rope_scaling"] = rope,
            ["max_position_embeddings"] = Text.MaxPositionEmbeddings,
            ["hidden_act"] = Text.HiddenAct,
            ["use_sliding_window"] = false,
            ["attention_dropout"] = 0.0,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["image_token_id"] = ImageTokenId,
            ["video_token_id"] = VideoTokenId,
            ["vision_start_token_id"] = VisionStartTokenId,
            ["vision_end_token_id"] = VisionEndTokenId,
            ["eos_token_id"] = EosTokenId,
            ["pad_token_id"] = PadTokenId,
            ["torch_dtype"] = "float32",
            ["vision_config"] = new Dictionary<string, object>
            {
                ["depth"] = Vision.Depth,
                ["hidden_size"] = Vision.HiddenSize,
                ["intermediate_size"] = Vision.IntermediateSize,
                ["num_heads"] = Vision.Heads,
                ["out_hidden_size"] = Vision.OutHiddenSize,
                ["patch_size"] = Vision.PatchSize,
                ["spatial_merge_size"] = Vision.SpatialMergeSize,
                ["temporal_patch_size"] = Vision.TemporalPatchSize,
                ["window_size"] = Vision.WindowSize,
                ["fullatt_block_indexes"] = Vision.FullAttentionBlocks,
                ["in_chans"] = Vision.InChannels,
                ["hidden_act"] = Vision.HiddenAct,
                ["tokens_per_second"] = Vision.TokensPerSecond,
            },
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
    }

    /// <summary>The released Qwen2.5-VL-3B-Instruct configuration (no weights).</summary>
    /// <returns>The configuration.</returns>
    public static QwenVLConfig Qwen25VL3B() => new()
    {
        Text = new QwenTextConfig { VocabSize = 151936, HiddenSize = 2048, IntermediateSize = 11008, Layers = 36, Heads = 16, KeyValueHeads = 2, MaxPositionEmbeddings = 128000 },
        Vision = new QwenVisionConfig { OutHiddenSize = 2048 },
        TieWordEmbeddings = true,
        EosTokenId = 151645,
        PadTokenId = 151643,
    };

    /// <summary>The released Qwen2.5-VL-7B-Instruct configuration (no weights).</summary>
    /// <returns>The configuration.</returns>
    public static QwenVLConfig Qwen25VL7B() => new()
    {
        Text = new QwenTextConfig { VocabSize = 152064, HiddenSize = 3584, IntermediateSize = 18944, Layers = 28, Heads = 28, KeyValueHeads = 4, MaxPositionEmbeddings = 128000 },
        Vision = new QwenVisionConfig { OutHiddenSize = 3584 },
        TieWordEmbeddings = false,
        EosTokenId = 151645,
        PadTokenId = 151643,
    };

    /// <summary>Reads typed, bounds-checked fields of one JSON object, naming the file and the field in errors.</summary>
    internal sealed class FieldReader
    {
        private readonly string _source;
        private readonly JsonElement _element;
        private readonly string _prefix;
        private readonly JsonElement? _fallback;

        public FieldReader(string source, JsonElement element, string prefix = "", JsonElement? fallback = null)
        {
            _source = source;
            _element = element;
            _prefix = prefix;
            _fallback = fallback;
        }

        public bool TryGet(string name, out JsonElement value, out string where)
        {
            if (_element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
            {
                where = _prefix + name;
                return true;
            }

            if (_fallback is JsonElement fallback && fallback.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
            {
                where = name;
                return true;
            }

            where = _prefix + name;
            return false;
        }

        public int Int(string name, int? defaultValue, int min, int max) =>
            OptionalInt(name, min, max) ?? defaultValue ?? throw new InvalidDataException($"{_source}: '{_prefix}{name}' is missing.");

        public int? OptionalInt(string name, int min, int max)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
            {
                value = value[0];
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
            {
                throw new InvalidDataException($"{_source}: '{where}' must be an integer (got {value.GetRawText()}).");
            }

            if (number < min || number > max)
            {
                throw new InvalidDataException($"{_source}: '{where}' = {number} is outside [{min}, {max}].");
            }

            return (int)number;
        }

        public double Double(string name, double defaultValue, double min, double max)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return defaultValue;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || double.IsNaN(number))
            {
                throw new InvalidDataException($"{_source}: '{where}' must be a number (got {value.GetRawText()}).");
            }

            if (number < min || number > max)
            {
                throw new InvalidDataException($"{_source}: '{where}' = {number} is outside [{min}, {max}].");
            }

            return number;
        }

        public bool Bool(string name, bool defaultValue)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return defaultValue;
            }

            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidDataException($"{_source}: '{where}' must be true or false (got {value.GetRawText()})."),
            };
        }

        public string String(string name, string defaultValue)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return defaultValue;
            }

            return value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw new InvalidDataException($"{_source}: '{where}' must be a string (got {value.GetRawText()}).");
        }

        public int[] IntArray(string name, int[] defaultValue, int min, int max, int maxCount)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return defaultValue;
            }

            if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > maxCount)
            {
                throw new InvalidDataException($"{_source}: '{where}' must be an array of at most {maxCount} integers.");
            }

            var result = new int[value.GetArrayLength()];
            int i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < min || number > max)
                {
                    throw new InvalidDataException($"{_source}: '{where}[{i}]' must be an integer in [{min}, {max}] (got {item.GetRawText()}).");
                }

                result[i++] = (int)number;
            }

            return result;
        }

        public FieldReader? Object(string name)
        {
            if (!TryGet(name, out var value, out string where))
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.Object
                ? new FieldReader(_source, value, where + ".")
                : throw new InvalidDataException($"{_source}: '{where}' must be an object.");
        }

        public string Source => _source;

        public string Prefix => _prefix;
    }
}

/// <summary>The Qwen2 text decoder's settings (defaults: Qwen2.5-VL-3B's decoder, except where a field says otherwise).</summary>
public sealed class QwenTextConfig
{
    /// <summary>Number of token embeddings (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; } = 151936;

    /// <summary>Decoder width (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; init; } = 2048;

    /// <summary>SwiGLU inner width (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; init; } = 11008;

    /// <summary>Number of decoder layers (<c>num_hidden_layers</c>).</summary>
    public int Layers { get; init; } = 36;

    /// <summary>Query heads (<c>num_attention_heads</c>).</summary>
    public int Heads { get; init; } = 16;

    /// <summary>Key/value heads for grouped-query attention (<c>num_key_value_heads</c>).</summary>
    public int KeyValueHeads { get; init; } = 2;

    /// <summary>RMSNorm ε (<c>rms_norm_eps</c>, 1e-6).</summary>
    public double RmsNormEpsilon { get; init; } = 1e-6;

    /// <summary>Rotary base θ (<c>rope_theta</c>, 1,000,000).</summary>
    public double RopeTheta { get; init; } = 1_000_000;

    /// <summary>Channel pairs given to the temporal, height and width positions (<c>rope_scaling.mrope_section</c>, [16, 24, 24]); sums to half a head.</summary>
    public int[] MropeSection { get; init; } = { 16, 24, 24 };

    /// <summary>Longest position the model was configured for (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; init; } = 128000;

    /// <summary>Activation of the SwiGLU gate (<c>hidden_act</c>; only "silu" is supported).</summary>
    public string HiddenAct { get; init; } = "silu";

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / Heads;

    internal static QwenTextConfig Read(QwenVLConfig.FieldReader r)
    {
        if (r.Bool("use_sliding_window", false))
        {
            throw new InvalidDataException($"{r.Source}: '{r.Prefix}use_sliding_window' is true; sliding-window attention is not supported (the released Qwen2.5-VL models do not use it).");
        }

        var rope = r.Object("rope_scaling");
        int[] sections = rope?.IntArray("mrope_section", Array.Empty<int>(), 1, QwenVLConfig.MaxWidth, 3) ?? Array.Empty<int>();
        string ropeType = rope is null ? "default" : rope.String("type", rope.String("rope_type", "default"));
        if (ropeType != "mrope" && ropeType != "default")
        {
            throw new InvalidDataException($"{r.Source}: '{r.Prefix}rope_scaling.type' = '{ropeType}' is not supported (only M-RoPE).");
        }

        int hidden = r.Int("hidden_size", null, 1, QwenVLConfig.MaxWidth);
        int heads = r.Int("num_attention_heads", null, 1, 4096);
        return new QwenTextConfig
        {
            VocabSize = r.Int("vocab_size", null, 1, QwenVLConfig.MaxVocabulary),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size", null, 1, QwenVLConfig.MaxWidth * 8),
            Layers = r.Int("num_hidden_layers", null, 1, QwenVLConfig.MaxLayers),
            Heads = heads,
            KeyValueHeads = r.Int("num_key_value_heads", null, 1, 4096),
            RmsNormEpsilon = r.Double("rms_norm_eps", 1e-6, 0, 1),
            RopeTheta = r.Double("rope_theta", 1_000_000, 1, 1e12),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 128000, 1, 1 << 24),
            HiddenAct = r.String("hidden_act", "silu"),
            MropeSection = sections.Length > 0 ? sections : DefaultSections(hidden / heads),
        };
    }

    private static int[] DefaultSections(int headDim)
    {
        // Without an explicit section every axis sees the same position for text; an even split keeps the rule valid.
        int half = headDim / 2;
        int a = half / 4, b = (half - a) / 2;
        return new[] { a, b, half - a - b };
    }

    internal void Validate(string source)
    {
        if (HiddenSize % Heads != 0)
        {
            throw new InvalidDataException($"{source}: 'hidden_size' {HiddenSize} is not divisible by 'num_attention_heads' {Heads}.");
        }

        if (Heads % KeyValueHeads != 0)
        {
            throw new InvalidDataException($"{source}: 'num_attention_heads' {Heads} is not divisible by 'num_key_value_heads' {KeyValueHeads}.");
        }

        if (HeadDim % 2 != 0)
        {
            throw new InvalidDataException($"{source}: the head width {HeadDim} must be even for rotary embeddings.");
        }

        if (MropeSection.Length != 3 || MropeSection.Sum() != HeadDim / 2)
        {
            throw new InvalidDataException($"{source}: 'rope_scaling.mrope_section' [{string.Join(", ", MropeSection)}] must have three entries that sum to half the head width ({HeadDim / 2}).");
        }

        if (HiddenAct != "silu")
        {
            throw new InvalidDataException($"{source}: 'hidden_act' = '{HiddenAct}' is not supported (only silu).");
        }
    }

    /// <summary>Weights of the decoder: embeddings, layers, final norm, and the head when untied.</summary>
    /// <param name="tied">Whether the head shares the embeddings.</param>
    /// <returns>The count.</returns>
    public long ParameterCount(bool tied)
    {
        long h = HiddenSize, kv = (long)KeyValueHeads * HeadDim, i = IntermediateSize, v = VocabSize;
        long attention = (h * h) + h + (2 * ((h * kv) + kv)) + (h * h);
        long layer = attention + (3 * h * i) + (2 * h);
        return (v * h) + (Layers * layer) + h + (tied ? 0 : v * h);
    }
}

/// <summary>The Qwen2.5-VL vision tower's settings (defaults: the released 3B/7B tower).</summary>
public sealed class QwenVisionConfig
{
    /// <summary>Number of blocks (<c>depth</c>, 32).</summary>
    public int Depth { get; init; } = 32;

    /// <summary>Tower width (<c>hidden_size</c>, 1280).</summary>
    public int HiddenSize { get; init; } = 1280;

    /// <summary>SwiGLU inner width (<c>intermediate_size</c>, 3420).</summary>
    public int IntermediateSize { get; init; } = 3420;

    /// <summary>Attention heads (<c>num_heads</c>, 16).</summary>
    public int Heads { get; init; } = 16;

    /// <summary>Width of the merged image tokens handed to the decoder (<c>out_hidden_size</c>; equals the decoder width).</summary>
    public int OutHiddenSize { get; init; } = 2048;

    /// <summary>Patch side in pixels (<c>patch_size</c>, 14).</summary>
    public int PatchSize { get; init; } = 14;

    /// <summary>Side of the square of patches merged into one token (<c>spatial_merge_size</c>, 2).</summary>
    public int SpatialMergeSize { get; init; } = 2;

    /// <summary>Frames per patch (<c>temporal_patch_size</c>, 2; a still image is repeated).</summary>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Side of an attention window in pixels (<c>window_size</c>, 112).</summary>
    public int WindowSize { get; init; } = 112;

    /// <summary>Blocks that attend over the whole image instead of windows (<c>fullatt_block_indexes</c>, 7, 15, 23, 31).</summary>
    public int[] FullAttentionBlocks { get; init; } = { 7, 15, 23, 31 };

    /// <summary>Image channels (<c>in_chans</c>, 3).</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Activation of the blocks' SwiGLU gate (<c>hidden_act</c>; only "silu" is supported).</summary>
    public string HiddenAct { get; init; } = "silu";

    /// <summary>Temporal position step per second of video (<c>tokens_per_second</c>); unused for still images.</summary>
    public int TokensPerSecond { get; init; } = 2;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / Heads;

    /// <summary>Values in one flattened patch: channels × frames × patch × patch (1176).</summary>
    public int PatchValues => InChannels * TemporalPatchSize * PatchSize * PatchSize;

    /// <summary>Side of an attention window in merged tokens (112 / 14 / 2 = 4).</summary>
    public int WindowTokens => WindowSize / SpatialMergeSize / PatchSize;

    internal static QwenVisionConfig Read(QwenVLConfig.FieldReader r) => new()
    {
        Depth = r.Int("depth", null, 1, QwenVLConfig.MaxLayers),
        HiddenSize = r.Int("hidden_size", null, 1, QwenVLConfig.MaxWidth),
        IntermediateSize = r.Int("intermediate_size", null, 1, QwenVLConfig.MaxWidth * 8),
        Heads = r.Int("num_heads", null, 1, 4096),
        OutHiddenSize = r.Int("out_hidden_size", null, 1, QwenVLConfig.MaxWidth),
        PatchSize = r.Int("patch_size", 14, 1, 1024),
        SpatialMergeSize = r.Int("spatial_merge_size", 2, 1, 64),
        TemporalPatchSize = r.Int("temporal_patch_size", 2, 1, 64),
        WindowSize = r.Int("window_size", 112, 1, 1 << 16),
        FullAttentionBlocks = r.IntArray("fullatt_block_indexes", Array.Empty<int>(), 0, QwenVLConfig.MaxLayers, QwenVLConfig.MaxLayers),
        InChannels = r.OptionalInt("in_chans", 1, 64) ?? r.Int("in_channels", 3, 1, 64),
        HiddenAct = r.String("hidden_act", "silu"),
        TokensPerSecond = r.Int("tokens_per_second", 2, 0, 1 << 16),
    };

    internal void Validate(string source)
    {
        if (HiddenSize % Heads != 0 || HeadDim % 4 != 0)
        {
            throw new InvalidDataException($"{source}: 'vision_config.hidden_size' {HiddenSize} must split into 'num_heads' {Heads} heads whose width is a multiple of 4 (2-D rotary).");
        }

        if (WindowTokens < 1)
        {
            throw new InvalidDataException($"{source}: 'vision_config.window_size' {WindowSize} is smaller than one merged token ({SpatialMergeSize * PatchSize} px).");
        }

        if (FullAttentionBlocks.Any(b => b >= Depth))
        {
            throw new InvalidDataException($"{source}: 'vision_config.fullatt_block_indexes' names a block beyond 'depth' {Depth}.");
        }

        if (HiddenAct != "silu")
        {
            throw new InvalidDataException($"{source}: 'vision_config.hidden_act' = '{HiddenAct}' is not supported (only silu; Qwen2-VL's QuickGELU towers are not ported).");
        }
    }

    /// <summary>Weights of the tower: patch embedding, blocks and the 2×2 merger.</summary>
    public long ParameterCount
    {
        get
        {
            long e = HiddenSize, i = IntermediateSize, merged = e * SpatialMergeSize * SpatialMergeSize;
            long block = (2 * e) + (3 * e * e) + (3 * e) + (e * e) + e + (2 * ((e * i) + i)) + (i * e) + e;
            long merger = e + (merged * merged) + merged + (merged * OutHiddenSize) + OutHiddenSize;
            return (e * PatchValues) + (Depth * block) + merger;
        }
    }
}
