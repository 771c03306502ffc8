namespace AnatomyR1.Extensions.AI;

/// <summary>
/// Settings of an <see cref="AnatomyR1ChatClient"/>. Every property has a documented default; a request's
/// <see cref="Microsoft.Extensions.AI.ChatOptions"/> overrides the sampling settings per call.
/// </summary>
public sealed record AnatomyR1ChatClientOptions
{
    /// <summary>The model id the client reports (<c>ChatResponse.ModelId</c>, metadata). Default <c>anatomy-r1-tiny</c>.</summary>
    public string ModelId { get; init; } = "anatomy-r1-tiny";

    /// <summary>
    /// Most new tokens per answer when the request sets no <c>MaxOutputTokens</c>; capped by the positions the policy
    /// has left after the image and the prompt. Default 80 (the same as the ML.NET transformer).
    /// </summary>
    public int MaxOutputTokens { get; init; } = 80;

    /// <summary>
    /// Temperature when the request sets none; 0 is greedy decoding, which ignores <see cref="TopK"/>,
    /// <see cref="TopP"/> and <see cref="Seed"/>. Default 0 (deterministic answers).
    /// </summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the K most likely tokens when sampling, when the request sets none; 0 disables. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling threshold in (0, 1] when the request sets none; 1 disables. Default 1.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Sampling seed when the request sets none; null draws from libtorch's global generator. Default null.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// How the answer letter is read from the completion for <see cref="AnatomyR1ChatClient.AnswerLetterProperty"/>.
    /// Default <see cref="AnatomyR1.Prompts.AnswerExtractionStrategy.TagLetter"/>.
    /// </summary>
    public AnatomyR1.Prompts.AnswerExtractionStrategy AnswerExtraction { get; init; } = AnatomyR1.Prompts.AnswerExtractionStrategy.TagLetter;

    /// <summary>
    /// The folder under which a <c>file:</c> <see cref="Microsoft.Extensions.AI.UriContent"/> image may be read; null
    /// refuses local files, so that a client behind a chat endpoint cannot be made to read the host's files.
    /// Symbolic links are resolved before the check (a link in the folder that points out of it is refused, naming
    /// where it points), and only a regular file is read: a directory, FIFO, device or socket is refused by name
    /// without being opened for reading. Default null (images must come as bytes).
    /// </summary>
    public string? LocalImageFolder { get; init; }

    /// <summary>
    /// Largest encoded image accepted, in bytes; a local file's size is compared with it before the file is read.
    /// Default 16 MiB.
    /// </summary>
    public int MaxImageBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Whether disposing the client disposes the policy (once no request is using it). Default <c>false</c> (the caller owns the policy).</summary>
    public bool DisposePolicy { get; init; }
}
