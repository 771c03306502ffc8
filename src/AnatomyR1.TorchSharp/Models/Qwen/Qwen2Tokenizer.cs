using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML.Tokenizers;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// The Qwen2 / Qwen2.5 (and Qwen2.5-VL) tokenizer: byte-level BPE as Hugging Face's <c>tokenizers</c> runs it for
/// these models. Encoding, in order:
/// <list type="number">
/// <item>added tokens (<c>&lt;|im_start|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, …) are found in the raw text, leftmost and
/// longest first, and become their ids, whether they are flagged special or not (Hugging Face's default,
/// <c>split_special_tokens=False</c>); for Qwen2.5 <c>&lt;think&gt;</c> and <c>&lt;answer&gt;</c> are plain text;</item>
/// <item>every other stretch is put into Unicode NFC (by this library's own tables, so the result does not depend on
/// .NET's globalization mode; a lone UTF-16 surrogate becomes U+FFFD first, as UTF-8 encoding would make it);</item>
/// <item>split by Qwen's pre-tokenizer pattern (<see cref="PreTokenizerPattern"/>; digits one by one);</item>
/// <item>each piece is encoded as UTF-8, its bytes mapped to GPT-2's printable byte symbols and merged by BPE
/// (Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> with <see cref="BpeOptions.ByteLevel"/>).</item>
/// </list>
/// No BOS/EOS is added. Loaded from a Hugging Face <c>tokenizer.json</c>, or from <c>vocab.json</c> +
/// <c>merges.txt</c> + <c>tokenizer_config.json</c>; saved as <c>tokenizer.json</c>. Instances are immutable and
/// safe for concurrent use.
/// </summary>
public sealed class Qwen2Tokenizer : IPolicyTokenizer
{
    /// <summary>The kind this tokenizer is registered under (see <see cref="PolicyRegistry.LoadTokenizer"/>).</summary>
    public const string KindName = "qwen2-bpe";

    /// <summary>The Hugging Face tokenizer file (read first, and written by <see cref="Save"/>).</summary>
    public const string TokenizerFile = "tokenizer.json";

    /// <summary>The vocabulary of the alternative "slow" file set.</summary>
    public const string VocabFile = "vocab.json";

    /// <summary>The merges of the alternative file set ("a b" per line after a <c>#version</c> line).</summary>
    public const string MergesFile = "merges.txt";

    /// <summary>The configuration of the alternative file set (its <c>added_tokens_decoder</c> lists the added tokens).</summary>
    public const string ConfigFile = "tokenizer_config.json";

    /// <summary>Qwen2's pre-tokenizer pattern, as its <c>tokenizer.json</c> states it (a <c>Split</c> with <c>Isolated</c> behaviour).</summary>
    public const string PreTokenizerPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly (string Left, string Right)[] _merges;
    private readonly string?[] _tokens;
    private readonly AddedToken[] _added;
    private readonly bool[] _specialById;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly AddedTokenMatcher _rawMatcher;
    private readonly AddedTokenMatcher? _normalizedMatcher;

    private Qwen2Tokenizer(Dictionary<string, int> vocab, (string Left, string Right)[] merges, AddedToken[] added, string source)
    {
        _vocab = vocab;
        _merges = merges;
        _added = added.OrderBy(a => a.Id).ToArray();

        foreach (char symbol in ByteSymbols.ByteToSymbol)
        {
            if (!vocab.ContainsKey(symbol.ToString()))
            {
                throw Bad(source, "model.vocab", $"lacks the byte symbol '{symbol}' (U+{(int)symbol:X4}); a byte-level vocabulary has all 256");
            }
        }

        int maxId = -1;
        foreach (var (token, id) in vocab)
        {
            if (id < 0)
            {
                throw Bad(source, "model.vocab", $"gives '{token}' the negative id {id}");
            }

            foreach (char c in token)
            {
                if (!ByteSymbols.IsSymbol(c))
                {
                    throw Bad(source, "model.vocab", $"has the token '{token}' with U+{(int)c:X4}, which is not one of the 256 byte symbols");
                }
            }

            maxId = Math.Max(maxId, id);
        }

        foreach (var a in _added)
        {
            maxId = Math.Max(maxId, a.Id);
        }

        _tokens = new string?[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            if (_tokens[id] is not null)
            {
                throw Bad(source, "model.vocab", $"gives id {id} to both '{_tokens[id]}' and '{token}'");
            }

            _tokens[id] = token;
        }

        _specialById = new bool[maxId + 1];
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in _added)
        {
            if (_tokens[a.Id] is { } existing && existing != a.Content)
            {
                throw Bad(source, "added_tokens", $"gives id {a.Id} to '{a.Content}', but the vocabulary has '{existing}' there");
            }

            if (!_addedByContent.TryAdd(a.Content, a.Id))
            {
                throw Bad(source, "added_tokens", $"lists '{a.Content}' twice");
            }

            _tokens[a.Id] = a.Content;
            _specialById[a.Id] = a.Special;
        }

        _rawMatcher = new AddedTokenMatcher(_added.Where(a => !a.Normalized));
        var normalized = _added.Where(a => a.Normalized).ToList();
        _normalizedMatcher = normalized.Count == 0 ? null : new AddedTokenMatcher(normalized);

        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges.Select(m => m.Left + " " + m.Right),
                PreTokenizer = QwenPreTokenizer.Instance,
                Normalizer = null,
                ByteLevel = true,
                SpecialTokens = _addedByContent, // only for decoding: added tokens never reach the BPE step
            });
        }
        catch (InvalidOperationException ex)
        {
            throw Bad(source, "model.merges", ex.Message, ex);
        }
    }

    /// <inheritdoc/>
    public string Kind => KindName;

    /// <summary>Number of token ids: ordinary and added (the largest id + 1).</summary>
    public int VocabSize => _tokens.Length;

    /// <summary>Number of ordinary (BPE) tokens.</summary>
    public int OrdinaryTokenCount => _vocab.Count;

    /// <summary>Number of merges.</summary>
    public int MergeCount => _merges.Length;

    /// <summary>The added tokens (content → id), special or not.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens => _addedByContent;

    /// <summary>Loads <c>tokenizer.json</c> from a folder, or else <c>vocab.json</c> + <c>merges.txt</c> + <c>tokenizer_config.json</c>.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">A file is missing or malformed; the message names the file and the field.</exception>
    public static Qwen2Tokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string json = Path.Combine(folder, TokenizerFile);
        if (File.Exists(json))
        {
            return LoadTokenizerJson(json);
        }

        string vocab = Path.Combine(folder, VocabFile), merges = Path.Combine(folder, MergesFile), config = Path.Combine(folder, ConfigFile);
        if (File.Exists(vocab) || File.Exists(merges))
        {
            foreach (string f in new[] { vocab, merges, config })
            {
                if (!File.Exists(f))
                {
                    throw new InvalidDataException($"{f}: missing ({VocabFile}, {MergesFile} and {ConfigFile} go together when there is no {TokenizerFile}).");
                }
            }

            return LoadSlowFiles(vocab, merges, config);
        }

        throw new InvalidDataException($"'{folder}' has no {TokenizerFile} (nor {VocabFile} + {MergesFile} + {ConfigFile}).");
    }

    /// <summary>Registers <see cref="Load"/> in <see cref="PolicyRegistry"/> under <see cref="KindName"/>.</summary>
    public static void Register() => PolicyRegistry.RegisterTokenizer(KindName, Load);

    /// <summary>The NFC form this tokenizer gives plain text before splitting it (independent of the globalization mode).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The normalised text.</returns>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return QwenNfc.Normalize(text);
    }

    /// <summary>Splits (already normalised) text by Qwen's pre-tokenizer pattern.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The pieces, in order; together they are the text.</returns>
    public static IReadOnlyList<string> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        foreach (var (offset, length) in QwenPreTokenizer.Split(text))
        {
            pieces.Add(text.Substring(offset, length));
        }

        return pieces;
    }

    /// <summary>Token ids of text: added tokens in it are recognised; no BOS/EOS is added.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (start, length, id) in _rawMatcher.Split(text))
        {
            if (id >= 0)
            {
                ids.Add(id);
                continue;
            }

            string normalized = QwenNfc.Normalize(ReplaceLoneSurrogates(text.Substring(start, length)));
            if (_normalizedMatcher is null)
            {
                EncodeOrdinary(normalized, ids);
                continue;
            }

            foreach (var (s2, l2, id2) in _normalizedMatcher.Split(normalized))
            {
                if (id2 >= 0)
                {
                    ids.Add(id2);
                }
                else
                {
                    EncodeOrdinary(normalized.Substring(s2, l2), ids);
                }
            }
        }

        return ids;
    }

    /// <summary>
    /// Text of token ids, special tokens included (like <c>transformers</c>' <c>decode</c> with its default
    /// <c>skip_special_tokens=False</c>): a generated <c>&lt;|im_end|&gt;</c> stays visible.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>
    /// Text of token ids: the bytes of all tokens are joined and read as UTF-8 (an invalid or cut sequence becomes
    /// U+FFFD, as Qwen's <c>errors="replace"</c>); added tokens contribute their text.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <param name="skipSpecialTokens">Leave out added tokens flagged special (<c>&lt;|im_end|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, …); non-special added tokens such as <c>&lt;tool_call&gt;</c> stay, as in Hugging Face.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token of this tokenizer.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var kept = new List<int>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length || _tokens[id] is null)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in the vocabulary (size {VocabSize}).");
            }

            if (!(skipSpecialTokens && _specialById[id]))
            {
                kept.Add(id);
            }
        }

        return kept.Count == 0 ? string.Empty : _bpe.Decode(kept, considerSpecialTokens: true);
    }

    /// <summary>The id of a token: an added token's text, or an ordinary token in its byte-level form (<c>Ġthe</c>).</summary>
    /// <param name="token">The token.</param>
    /// <returns>The id.</returns>
    /// <exception cref="KeyNotFoundException">The token is not in the vocabulary.</exception>
    public int TokenToId(string token) =>
        TryGetTokenId(token, out int id) ? id : throw new KeyNotFoundException($"'{token}' is not a token of this tokenizer.");

    /// <summary>The id of a token, if it has one.</summary>
    /// <param name="token">The token (added-token text, or byte-level form).</param>
    /// <param name="id">The id.</param>
    /// <returns>Whether the token is in the vocabulary.</returns>
    public bool TryGetTokenId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _addedByContent.TryGetValue(token, out id) || _vocab.TryGetValue(token, out id);
    }

    /// <summary>The token of an id: an added token's text, or an ordinary token in its byte-level form.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string IdToToken(int id) =>
        (uint)id < (uint)_tokens.Length && _tokens[id] is { } t ? t : throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary (size {VocabSize}).");

    /// <summary>Whether an id is an added token flagged special (left out by <c>Decode(ids, skipSpecialTokens: true)</c>).</summary>
    /// <param name="id">The id.</param>
    /// <returns>True for special added tokens.</returns>
    public bool IsSpecialToken(int id) => (uint)id < (uint)_specialById.Length && _specialById[id];

    /// <summary>Writes <c>tokenizer.json</c> (Hugging Face format) into a folder, through a temporary file and a rename.</summary>
    /// <param name="folder">The folder (created when missing).</param>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, TokenizerFile), temp =>
        {
            using var stream = File.Create(temp);
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            WriteTokenizerJson(w);
        });
    }

    private void EncodeOrdinary(string normalized, List<int> ids)
    {
        if (normalized.Length > 0)
        {
            ids.AddRange(_bpe.EncodeToIds(normalized, considerPreTokenization: true, considerNormalization: false));
        }
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool lone = char.IsHighSurrogate(c) ? i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])
                : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));
            if (lone)
            {
                sb ??= new StringBuilder(text, 0, i, text.Length);
                sb.Append('\uFFFD');
            }
            else
            {
                sb?.Append(c);
            }
        }

        return sb?.ToString() ?? text;
    }

    private void WriteTokenizerJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        foreach (var a in _added)
        {
            w.WriteStartObject();
            w.WriteNumber("id", a.Id);
            w.WriteString("content", a.Content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", a.Normalized);
            w.WriteBoolean("special", a.Special);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("normalizer");
        w.WriteString("type", "NFC");
        w.WriteEndObject();
        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", PreTokenizerPattern);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        WriteByteLevel(w, null);
        w.WriteEndArray();
        w.WriteEndObject();
        WriteByteLevel(w, "post_processor");
        WriteByteLevel(w, "decoder");
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteString("continuing_subword_prefix", string.Empty);
        w.WriteString("end_of_word_suffix", string.Empty);
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        foreach (var (token, id) in _vocab.OrderBy(p => p.Value))
        {
            w.WriteNumber(token, id);
        }

        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (left, right) in _merges)
        {
            w.WriteStartArray();
            w.WriteStringValue(left);
            w.WriteStringValue(right);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteByteLevel(Utf8JsonWriter w, string? name)
    {
        if (name is null)
        {
            w.WriteStartObject();
        }
        else
        {
            w.WriteStartObject(name);
        }

        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
    }

    // ---- loading ---------------------------------------------------------------------------------------------

    private static Qwen2Tokenizer LoadTokenizerJson(string path)
    {
        using var doc = ParseJson(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: not a JSON object.");
        }

        var model = Required(root, "model", JsonValueKind.Object, path, "model");
        if (model.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.GetString() == "BPE"))
        {
            throw Bad(path, "model.type", $"is {type.GetRawText()}; only \"BPE\" is supported");
        }

        RequireAbsentOr(model, "byte_fallback", JsonValueKind.False, path, "model.byte_fallback", "must be false (byte-level BPE needs no fallback)");
        RequireAbsentOr(model, "ignore_merges", JsonValueKind.False, path, "model.ignore_merges", "must be false (Qwen2 always applies the merges)");
        RequireEmptyString(model, "continuing_subword_prefix", path);
        RequireEmptyString(model, "end_of_word_suffix", path);
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind != JsonValueKind.Null && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
        {
            throw Bad(path, "model.dropout", "must be null (no BPE dropout)");
        }

        CheckPipeline(root, path);

        var vocab = ReadVocab(Required(model, "vocab", JsonValueKind.Object, path, "model.vocab"), path, "model.vocab");
        var mergesElement = Required(model, "merges", JsonValueKind.Array, path, "model.merges");
        var merges = new List<(string, string)>(mergesElement.GetArrayLength());
        int index = 0;
        foreach (var m in mergesElement.EnumerateArray())
        {
            merges.Add(ReadMerge(m, path, index++));
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedElement) && addedElement.ValueKind != JsonValueKind.Null)
        {
            if (addedElement.ValueKind != JsonValueKind.Array)
            {
                throw Bad(path, "added_tokens", "must be an array");
            }

            index = 0;
            foreach (var a in addedElement.EnumerateArray())
            {
                string field = $"added_tokens[{index++}]";
                if (a.ValueKind != JsonValueKind.Object)
                {
                    throw Bad(path, field, "must be an object");
                }

                int id = RequiredInt(a, "id", path, field + ".id");
                added.Add(ReadAddedToken(a, id, path, field));
            }
        }

        return new Qwen2Tokenizer(vocab, merges.ToArray(), added.ToArray(), path);
    }

    private static Qwen2Tokenizer LoadSlowFiles(string vocabPath, string mergesPath, string configPath)
    {
        Dictionary<string, int> vocab;
        using (var doc = ParseJson(vocabPath))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{vocabPath}: must be a JSON object of token → id.");
            }

            vocab = ReadVocab(doc.RootElement, vocabPath, "(root)");
        }

        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(mergesPath))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new InvalidDataException($"{mergesPath}: line {lineNumber} is not two tokens separated by a space: '{line}'.");
            }

            merges.Add((parts[0], parts[1]));
        }

        var added = new List<AddedToken>();
        using (var doc = ParseJson(configPath))
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{configPath}: not a JSON object.");
            }

            var decoder = Required(root, "added_tokens_decoder", JsonValueKind.Object, configPath, "added_tokens_decoder");
            foreach (var p in decoder.EnumerateObject())
            {
                string field = $"added_tokens_decoder.{p.Name}";
                if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                {
                    throw Bad(configPath, field, "has a key that is not a token id");
                }

                if (p.Value.ValueKind != JsonValueKind.Object)
                {
                    throw Bad(configPath, field, "must be an object");
                }

                added.Add(ReadAddedToken(p.Value, id, configPath, field));
            }
        }

        return new Qwen2Tokenizer(vocab, merges.ToArray(), added.ToArray(), vocabPath);
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message}).", ex);
        }
    }

    private static Dictionary<string, int> ReadVocab(JsonElement element, string path, string field)
    {
        var vocab = new Dictionary<string, int>(160_000, StringComparer.Ordinal);
        foreach (var p in element.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id))
            {
                throw Bad(path, field, $"gives '{p.Name}' the id {p.Value.GetRawText()}, which is not an integer");
            }

            if (!vocab.TryAdd(p.Name, id))
            {
                throw Bad(path, field, $"lists '{p.Name}' twice");
            }
        }

        if (vocab.Count == 0)
        {
            throw Bad(path, field, "is empty");
        }

        return vocab;
    }

    private static (string, string) ReadMerge(JsonElement m, string path, int index)
    {
        string field = $"model.merges[{index}]";
        if (m.ValueKind == JsonValueKind.String)
        {
            string s = m.GetString()!;
            int space = s.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
            {
                throw Bad(path, field, $"is \"{s}\", not two tokens separated by one space");
            }

            return (s[..space], s[(space + 1)..]);
        }

        if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String
            && m[0].GetString()!.Length > 0 && m[1].GetString()!.Length > 0)
        {
            return (m[0].GetString()!, m[1].GetString()!);
        }

        throw Bad(path, field, $"is {Shorten(m.GetRawText())}; a merge is \"a b\" or [\"a\", \"b\"]");
    }

    private static AddedToken ReadAddedToken(JsonElement a, int id, string path, string field)
    {
        if (id < 0)
        {
            throw Bad(path, field + ".id", $"is negative ({id})");
        }

        if (!a.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString()!.Length == 0)
        {
            throw Bad(path, field + ".content", "must be a non-empty string");
        }

        foreach (string flag in new[] { "lstrip", "rstrip", "single_word" })
        {
            if (OptionalBool(a, flag, path, $"{field}.{flag}") == true)
            {
                throw Bad(path, $"{field}.{flag}", $"is true for '{content.GetString()}'; only added tokens without {flag} are supported");
            }
        }

        bool special = OptionalBool(a, "special", path, field + ".special") ?? false;
        bool normalized = OptionalBool(a, "normalized", path, field + ".normalized") ?? !special; // Hugging Face's default
        return new AddedToken(content.GetString()!, id, special, normalized);
    }

    private static void CheckPipeline(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || !IsType(normalizer, "NFC"))
        {
            throw Bad(path, "normalizer", $"is {Describe(root, "normalizer")}; Qwen2's is {{\"type\": \"NFC\"}}");
        }

        if (!root.TryGetProperty("pre_tokenizer", out var pre) || !IsQwenPreTokenizer(pre))
        {
            throw Bad(path, "pre_tokenizer", $"is {Describe(root, "pre_tokenizer")}; Qwen2's is a Sequence of a Split on its pattern (behavior Isolated) and ByteLevel without regex");
        }

        if (root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind != JsonValueKind.Null && !IsType(decoder, "ByteLevel"))
        {
            throw Bad(path, "decoder", $"is {Shorten(decoder.GetRawText())}; Qwen2's is ByteLevel");
        }
    }

    private static bool IsQwenPreTokenizer(JsonElement pre)
    {
        if (!IsType(pre, "Sequence") || !pre.TryGetProperty("pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() != 2)
        {
            return false;
        }

        var split = list[0];
        var byteLevel = list[1];
        return IsType(split, "Split")
            && split.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
            && pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String && regex.GetString() == PreTokenizerPattern
            && split.TryGetProperty("behavior", out var behavior) && behavior.ValueKind == JsonValueKind.String && behavior.GetString() == "Isolated"
            && !(split.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True)
            && IsType(byteLevel, "ByteLevel")
            && !(byteLevel.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
            && byteLevel.TryGetProperty("use_regex", out var useRegex) && useRegex.ValueKind == JsonValueKind.False;
    }

    private static bool IsType(JsonElement e, string type) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type;

    private static string Describe(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) ? Shorten(e.GetRawText()) : "missing";

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string path, string field)
    {
        if (!parent.TryGetProperty(name, out var e))
        {
            throw Bad(path, field, "is missing");
        }

        if (e.ValueKind != kind)
        {
            throw Bad(path, field, $"must be a JSON {kind.ToString().ToLowerInvariant()}, not {e.ValueKind.ToString().ToLowerInvariant()}");
        }

        return e;
    }

    private static int RequiredInt(JsonElement parent, string name, string path, string field)
    {
        if (!parent.TryGetProperty(name, out var e))
        {
            throw Bad(path, field, "is missing");
        }

        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Bad(path, field, $"is {e.GetRawText()}, not an integer");
    }

    private static bool? OptionalBool(JsonElement parent, string name, string path, string field)
    {
        if (!parent.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(path, field, $"is {e.GetRawText()}, not true or false"),
        };
    }

    private static void RequireAbsentOr(JsonElement parent, string name, JsonValueKind kind, string path, string field, string message)
    {
        if (parent.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null && e.ValueKind != kind)
        {
            throw Bad(path, field, message);
        }
    }

    private static void RequireEmptyString(JsonElement model, string name, string path)
    {
        if (model.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null && !(e.ValueKind == JsonValueKind.String && e.GetString()!.Length == 0))
        {
            throw Bad(path, "model." + name, $"is {e.GetRawText()}; byte-level BPE uses none");
        }
    }

    private static InvalidDataException Bad(string path, string field, string message, Exception? inner = null) =>
        new($"{path}: field '{field}' {message}.", inner);

    private sealed record AddedToken(string Content, int Id, bool Special, bool Normalized);

    /// <summary>
    /// Finds added tokens in text the way Hugging Face's added vocabulary does (an Aho-Corasick search with
    /// leftmost-longest matching): at the leftmost position where any token starts, the longest one wins.
    /// </summary>
    private sealed class AddedTokenMatcher
    {
        private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;

        public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
        {
            _byFirstChar = tokens
                .GroupBy(t => t.Content[0])
                .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).Select(t => (t.Content, t.Id)).ToArray());
        }

        /// <summary>The text as stretches: (start, length, id) with id -1 for text between added tokens.</summary>
        public IEnumerable<(int Start, int Length, int Id)> Split(string text)
        {
            int plainStart = 0;
            int i = 0;
            while (i < text.Length)
            {
                if (_byFirstChar.TryGetValue(text[i], out var candidates))
                {
                    int matched = -1;
                    foreach (var (content, id) in candidates)
                    {
                        if (i + content.Length <= text.Length && string.CompareOrdinal(text, i, content, 0, content.Length) == 0)
                        {
                            matched = id;
                            if (i > plainStart)
                            {
                                yield return (plainStart, i - plainStart, -1);
                            }

                            yield return (i, content.Length, id);
                            i += content.Length;
                            plainStart = i;
                            break;
                        }
                    }

                    if (matched >= 0)
                    {
                        continue;
                    }
                }

                i++;
            }

            if (plainStart < text.Length)
            {
                yield return (plainStart, text.Length - plainStart, -1);
            }
        }
    }

    /// <summary>GPT-2's map of the 256 byte values to printable characters (the byte-level alphabet).</summary>
    private static class ByteSymbols
    {
        public static readonly char[] ByteToSymbol = Build();

        private static readonly bool[] Symbols = BuildSymbolSet();

        public static bool IsSymbol(char c) => c < Symbols.Length && Symbols[c];

        private static bool[] BuildSymbolSet()
        {
            var set = new bool[ByteToSymbol.Max() + 1];
            foreach (char c in ByteToSymbol)
            {
                set[c] = true;
            }

            return set;
        }

        private static char[] Build()
        {
            // Printable bytes keep their Latin-1 character; the other 68 bytes take U+0100, U+0101, … in byte order.
            var map = new char[256];
            int next = 256;
            for (int b = 0; b < 256; b++)
            {
                bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                map[b] = printable ? (char)b : (char)next++;
            }

            return map;
        }
    }

    /// <summary>
    /// Qwen2's pre-tokenizer pattern, run by hand over Unicode code points. <see cref="System.Text.RegularExpressions.Regex"/>
    /// (and so Microsoft.ML.Tokenizers' <see cref="RegexPreTokenizer"/>) cannot express it exactly: .NET regular
    /// expressions match UTF-16 code units, so <c>\p{L}</c> and <c>\p{N}</c> miss every letter and digit outside the
    /// Basic Multilingual Plane (CJK extension B, mathematical alphanumerics, …); and the case-insensitive contraction
    /// <c>'s</c> must also match <c>'ſ</c> (U+017F folds to s), as Oniguruma's case folding in Hugging Face does. The
    /// alternatives are tried in the pattern's order at each position, with the same greedy matching and backtracking
    /// outcome; <c>\s</c> is Unicode White_Space (<see cref="char.IsWhiteSpace(char)"/>, which matches Oniguruma's set).
    /// </summary>
    private sealed class QwenPreTokenizer : PreTokenizer
    {
        public static readonly QwenPreTokenizer Instance = new();

        private enum Kind
        {
            Letter,
            Number,
            Space,
            Other,
        }

        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

        public static List<(int Offset, int Length)> Split(ReadOnlySpan<char> s)
        {
            var pieces = new List<(int, int)>();
            int i = 0;
            while (i < s.Length)
            {
                int end = MatchAt(s, i);
                pieces.Add((i, end - i));
                i = end;
            }

            return pieces;
        }

        private static int MatchAt(ReadOnlySpan<char> s, int i)
        {
            var kind = KindAt(s, i, out int width);

            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if (s[i] == '\'')
            {
                int n = ContractionLength(s, i + 1);
                if (n > 0)
                {
                    return i + 1 + n;
                }
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (kind == Kind.Letter)
            {
                return LettersEnd(s, i);
            }

            if (kind != Kind.Number && !IsNewLine(s[i]) && i + width < s.Length && KindAt(s, i + width, out _) == Kind.Letter)
            {
                return LettersEnd(s, i + width);
            }

            // \p{N}
            if (kind == Kind.Number)
            {
                return i + width;
            }

            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            int j = i;
            if (s[j] == ' ' && j + 1 < s.Length && KindAt(s, j + 1, out _) == Kind.Other)
            {
                j++;
            }

            if (KindAt(s, j, out _) == Kind.Other)
            {
                while (j < s.Length && KindAt(s, j, out int w) == Kind.Other)
                {
                    j += w;
                }

                while (j < s.Length && IsNewLine(s[j]))
                {
                    j++;
                }

                return j;
            }

            // White space from here on (all of it is in the Basic Multilingual Plane).
            int runEnd = i;
            int lastNewLine = -1;
            while (runEnd < s.Length && char.IsWhiteSpace(s[runEnd]))
            {
                if (IsNewLine(s[runEnd]))
                {
                    lastNewLine = runEnd;
                }

                runEnd++;
            }

            // \s*[\r\n]+ : the greedy \s* backs off to the last line break of the run.
            if (lastNewLine >= 0)
            {
                return lastNewLine + 1;
            }

            // \s+(?!\S) : the whole run at the end of the text, else all but its last character.
            if (runEnd == s.Length)
            {
                return runEnd;
            }

            if (runEnd - i >= 2)
            {
                return runEnd - 1;
            }

            // \s+
            return runEnd;
        }

        private static int ContractionLength(ReadOnlySpan<char> s, int k)
        {
            if (k >= s.Length)
            {
                return 0;
            }

            char a = s[k];
            char b = k + 1 < s.Length ? s[k + 1] : '\0';
            return char.ToLowerInvariant(a) switch
            {
                's' or 't' or 'm' or 'd' => 1,
                'ſ' => 1,
                'r' or 'v' => char.ToLowerInvariant(b) == 'e' ? 2 : 0,
                'l' => char.ToLowerInvariant(b) == 'l' ? 2 : 0,
                _ => 0,
            };
        }

        private static bool IsNewLine(char c) => c is '\r' or '\n';

        private static int LettersEnd(ReadOnlySpan<char> s, int i)
        {
            while (i < s.Length && KindAt(s, i, out int w) == Kind.Letter)
            {
                i += w;
            }

            return i;
        }

        private static Kind KindAt(ReadOnlySpan<char> s, int i, out int width)
        {
            char c = s[i];
            int cp = c;
            width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(c, s[i + 1]);
                width = 2;
            }
            else if (c < 0x80)
            {
                // ASCII fast path.
                if (char.IsAsciiLetter(c))
                {
                    return Kind.Letter;
                }

                if (char.IsAsciiDigit(c))
                {
                    return Kind.Number;
                }

                return c is ' ' or (>= '\t' and <= '\r') ? Kind.Space : Kind.Other;
            }

            if (width == 1 && char.IsWhiteSpace(c))
            {
                return Kind.Space;
            }

            switch (CharUnicodeInfo.GetUnicodeCategory(cp))
            {
                case UnicodeCategory.UppercaseLetter:
                case UnicodeCategory.LowercaseLetter:
                case UnicodeCategory.TitlecaseLetter:
                case UnicodeCategory.ModifierLetter:
                case UnicodeCategory.OtherLetter:
                    return Kind.Letter;
                case UnicodeCategory.DecimalDigitNumber:
                case UnicodeCategory.LetterNumber:
                case UnicodeCategory.OtherNumber:
                    return Kind.Number;
                default:
                    return Kind.Other;
            }
        }
    }
}
