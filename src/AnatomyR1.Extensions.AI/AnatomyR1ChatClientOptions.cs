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

    /// <summary>Temperature when the request sets none; 0 is greedy decoding. Default 0 (deterministic answers).</summary>
    public double Temperature { get; init; }

    /// <summary>
    /// How the answer letter is read from the completion for <see cref="AnatomyR1ChatClient.AnswerLetterProperty"/>.
    /// Default <see cref="AnatomyR1.Prompts.AnswerExtractionStrategy.TagLetter"/>.
    /// </summary>
    public AnatomyR1.Prompts.AnswerExtractionStrategy AnswerExtraction { get; init; } = AnatomyR1.Prompts.AnswerExtractionStrategy.TagLetter;

    /// <summary>Whether disposing the client disposes the policy. Default <c>false</c> (the caller owns the policy).</summary>
    public bool DisposePolicy { get; init; }
}
