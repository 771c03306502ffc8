using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// The small model's tokenizer: a compact lower-case word vocabulary with WordPiece fallback to single characters
/// (Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/>), so unknown words never fail: they are spelled out
/// (or become <c>[UNK]</c> for characters outside the vocabulary). Special tokens: <c>[PAD]</c>, <c>[UNK]</c>,
/// <c>&lt;eos&gt;</c>, <c>&lt;image&gt;</c>, <c>&lt;think&gt;</c>, <c>&lt;/think&gt;</c>, <c>&lt;answer&gt;</c>, <c>&lt;/answer&gt;</c>.
/// Saved as <c>vocab.txt</c> (one token per line; the id is the line number).
/// </summary>
public sealed partial class VlmTokenizer : AnatomyR1.TorchSharp.Policy.IPolicyTokenizer
{
    /// <summary>The kind this tokenizer is registered under (see <see cref="AnatomyR1.TorchSharp.Policy.PolicyRegistry.LoadTokenizer"/>).</summary>
    public const string KindName = "anatomyr1-word-vocab";

    /// <summary>The vocabulary file inside a policy folder.</summary>
    public const string VocabularyFile = "vocab.txt";

    /// <summary>Padding token.</summary>
    public const string Pad = "[PAD]";

    /// <summary>Unknown token.</summary>
    public const string Unknown = "[UNK]";

    /// <summary>End of sequence.</summary>
    public const string EndOfSequence = "<eos>";

    /// <summary>Image placeholder.</summary>
    public const string Image = "<image>";

    /// <summary>The special tokens, in id order (ids 0–7).</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = new[] { Pad, Unknown, EndOfSequence, Image, "<think>", "</think>", "<answer>", "</answer>" };

    private readonly WordPieceTokenizer _inner;
    private readonly string[] _tokens;

    private VlmTokenizer(IReadOnlyList<string> vocabulary)
    {
        _tokens = vocabulary.ToArray();
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            if (_tokens.Length <= i || _tokens[i] != SpecialTokens[i])
            {
                throw new FormatException($"The vocabulary must start with the special tokens {string.Join(" ", SpecialTokens)}; line {i + 1} is '{(_tokens.Length > i ? _tokens[i] : "(missing)")}'.");
            }
        }

        var specials = SpecialTokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", _tokens) + "\n"));
        _inner = WordPieceTokenizer.Create(stream, new WordPieceOptions
        {
            UnknownToken = Unknown,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(WordOrSymbol(), specials),
            Normalizer = LowerCaseNormalizer.Instance,
        });
    }

    /// <summary>Vocabulary size.</summary>
    public int VocabSize => _tokens.Length;

    /// <summary>Id of <c>[PAD]</c>.</summary>
    public int PadId => 0;

    /// <summary>Id of <c>&lt;eos&gt;</c>.</summary>
    public int EosId => 2;

    /// <summary>The vocabulary, in id order.</summary>
    public IReadOnlyList<string> Vocabulary => _tokens;

    /// <summary>Creates a tokenizer from a vocabulary (special tokens first).</summary>
    /// <param name="vocabulary">The tokens in id order.</param>
    /// <returns>The tokenizer.</returns>
    public static VlmTokenizer FromVocabulary(IReadOnlyList<string> vocabulary) => new(vocabulary);

    /// <summary>Reads <c>vocab.txt</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The tokenizer.</returns>
    public static VlmTokenizer Load(string path) =>
        new(File.ReadAllLines(path).Where(l => l.Length > 0).ToArray());

    /// <summary>Writes <c>vocab.txt</c>.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path) => File.WriteAllText(path, string.Join("\n", _tokens) + "\n");

    /// <inheritdoc />
    public string Kind => KindName;

    /// <inheritdoc />
    void AnatomyR1.TorchSharp.Policy.IPolicyTokenizer.Save(string folder) => Save(Path.Combine(folder, VocabularyFile));

    /// <summary>
    /// Builds a vocabulary: the special tokens, every word of <paramref name="corpus"/> (lower-cased, split like the
    /// tokenizer splits), every printable ASCII character and its <c>##</c> continuation, in a deterministic order.
    /// </summary>
    /// <param name="corpus">Texts whose words become whole tokens.</param>
    /// <returns>The vocabulary.</returns>
    public static IReadOnlyList<string> BuildVocabulary(IEnumerable<string> corpus)
    {
        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string text in corpus)
        {
            string lower = text.ToLowerInvariant();
            foreach (string special in SpecialTokens)
            {
                lower = lower.Replace(special, " ", StringComparison.Ordinal);
            }

            foreach (Match m in WordOrSymbol().Matches(lower))
            {
                words.Add(m.Value);
            }
        }

        var characters = Enumerable.Range(33, 94).Select(c => ((char)c).ToString()).Where(c => c != c.ToUpperInvariant() || !char.IsLetter(c[0])).ToList();
        var vocabulary = new List<string>(SpecialTokens);
        var seen = new HashSet<string>(vocabulary, StringComparer.Ordinal);
        foreach (string token in words.Concat(characters).Concat(characters.Select(c => "##" + c)))
        {
            if (seen.Add(token))
            {
                vocabulary.Add(token);
            }
        }

        return vocabulary;
    }

    /// <summary>Encodes text to ids (no end-of-sequence token added).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> Encode(string text) => _inner.EncodeToIds(text);

    /// <summary>The token string of an id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token.</returns>
    public string TokenOf(int id) => id >= 0 && id < _tokens.Length ? _tokens[id] : Unknown;

    /// <summary>The id of a token string, or the unknown id.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The id.</returns>
    public int IdOf(string token) => Array.IndexOf(_tokens, token) is int i and >= 0 ? i : 1;

    /// <summary>
    /// Decodes ids to text: stops at <c>&lt;eos&gt;</c>, drops padding, joins <c>##</c> pieces, writes no space before
    /// punctuation and none around hyphens.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> ids)
    {
        var text = new StringBuilder();
        bool glueNext = false;
        foreach (int id in ids)
        {
            if (id == EosId)
            {
                break;
            }

            if (id == PadId)
            {
                continue;
            }

            string token = TokenOf(id);
            if (token.StartsWith("##", StringComparison.Ordinal) && token.Length > 2)
            {
                text.Append(token, 2, token.Length - 2);
                glueNext = false;
                continue;
            }

            bool attachLeft = token is "," or "." or ";" or ":" or "?" or "!" or ")" or "-" or "'";
            if (text.Length > 0 && !attachLeft && !glueNext)
            {
                text.Append(' ');
            }

            text.Append(token);
            glueNext = token is "-" or "(" or "'";
        }

        return text.ToString();
    }

    [GeneratedRegex(@"\w+|[^\w\s]")]
    private static partial Regex WordOrSymbol();
}
