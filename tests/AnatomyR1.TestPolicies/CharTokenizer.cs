using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.Testing.Policies;

/// <summary>A character tokenizer: id 0 padding, 1 end of sequence, then one id per character of a fixed alphabet (unknown characters become '?').</summary>
public sealed class CharTokenizer : IPolicyTokenizer
{
    /// <summary>Registry kind.</summary>
    public const string KindName = "anatomyr1-test-chars";

    /// <summary>File the alphabet is saved to.</summary>
    public const string File = "alphabet.txt";

    private readonly string _alphabet;
    private readonly Dictionary<char, int> _ids;

    /// <summary>Creates the tokenizer.</summary>
    /// <param name="alphabet">Distinct characters (must contain '?').</param>
    public CharTokenizer(string alphabet)
    {
        if (alphabet.Distinct().Count() != alphabet.Length || !alphabet.Contains('?'))
        {
            throw new ArgumentException("The alphabet must hold distinct characters including '?'.", nameof(alphabet));
        }

        _alphabet = alphabet;
        _ids = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i + 2);
    }

    /// <summary>Printable ASCII and the newline.</summary>
    public static CharTokenizer Default { get; } = new(new string(Enumerable.Range(32, 95).Select(i => (char)i).Append('\n').ToArray()));

    /// <inheritdoc />
    public string Kind => KindName;

    /// <inheritdoc />
    public int VocabSize => _alphabet.Length + 2;

    /// <summary>Padding id.</summary>
    public int PadId => 0;

    /// <summary>End-of-sequence id.</summary>
    public int EosId => 1;

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text) => text.Select(c => _ids.TryGetValue(c, out int id) ? id : _ids['?']).ToList();

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) =>
        new(ids.TakeWhile(id => id != EosId).Where(id => id >= 2 && id < VocabSize).Select(id => _alphabet[id - 2]).ToArray());

    /// <inheritdoc />
    public void Save(string folder) => System.IO.File.WriteAllText(Path.Combine(folder, File), _alphabet);

    /// <summary>Loads a saved tokenizer.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The tokenizer.</returns>
    public static CharTokenizer Load(string folder) => new(System.IO.File.ReadAllText(Path.Combine(folder, File)));
}
