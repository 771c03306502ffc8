namespace AnatomyR1.Curriculum;

/// <summary>
/// How alike two answer options are: the measure behind S(q). Implementations embed option texts and take the cosine
/// (<see cref="OptionEmbedder"/>: <see cref="CharNGramEmbedder"/>, <see cref="VectorOptionEmbedder"/>, the policy's
/// own token embeddings in <c>AnatomyR1.TorchSharp</c>), or look the pair up in a table
/// (<see cref="ClassSimilarityTable"/>).
/// </summary>
/// <remarks>
/// Implementations must be thread-safe (ML.NET may read a view from several cursors) and deterministic. To travel with
/// a saved pipeline an implementation also implements <see cref="Persistence.IPersistentComponent"/>.
/// </remarks>
public interface IOptionSimilarity
{
    /// <summary>A short name for reports (e.g. <c>char-ngram</c>).</summary>
    string Name { get; }

    /// <summary>The similarity of two option texts (cosine similarity for embedders: in [−1, 1], 1 for equal texts).</summary>
    /// <param name="a">An option text (the answer, when one of the two is the answer).</param>
    /// <param name="b">Another option text.</param>
    /// <returns>The similarity.</returns>
    /// <exception cref="ArgumentException">The measure cannot score one of the texts (e.g. a class missing from a table); the message names it.</exception>
    float Similarity(string a, string b);
}
