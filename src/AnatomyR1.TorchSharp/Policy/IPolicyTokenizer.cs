namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// A policy's text tokenizer, as far as policy-independent code needs it: plain-text ids (no special tokens added),
/// decoding, the vocabulary size, and saving into a folder so that what was saved can be loaded again through
/// <see cref="PolicyRegistry.LoadTokenizer"/> under its <see cref="Kind"/>.
/// </summary>
public interface IPolicyTokenizer
{
    /// <summary>The name it is registered under in <see cref="PolicyRegistry"/> (for loading it back).</summary>
    string Kind { get; }

    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>Token ids of plain text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    IReadOnlyList<int> Encode(string text);

    /// <summary>Text of token ids.</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    string Decode(IEnumerable<int> ids);

    /// <summary>Writes the tokenizer's files into an existing folder.</summary>
    /// <param name="folder">The folder.</param>
    void Save(string folder);
}
