namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Sampling settings for <see cref="IVisionLanguagePolicy.Generate"/>. Every field has a documented default.</summary>
public sealed record GenerationOptions
{
    /// <summary>Completions per prompt (GRPO's G). Default 1.</summary>
    public int NumReturnSequences { get; init; } = 1;

    /// <summary>Most new tokens per completion (the end token included). Default 64.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Softmax temperature; 0 means greedy decoding. Default 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the K most likely tokens; 0 disables. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of tokens whose probability reaches P; 1 disables. Default 1.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>
    /// Encode each image and prefill each prompt once, then expand the KV cache G ways (default <c>true</c>); false
    /// prefills every completion separately (the baseline the benchmark compares with).
    /// </summary>
    public bool SharePrefix { get; init; } = true;

    /// <summary>Seed of the sampling generator; null draws from libtorch's global generator. Default null.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// libtorch intra-op threads while generating (prefill and decoding), restored afterwards; 0 (default) keeps the
    /// process setting. Measured on 2 cores, the built-in policy and the tiny Qwen2.5-VL preset decode 5–10% faster on
    /// two threads than on one (docs/performance.md), so the default changes nothing; a machine with many cores and a
    /// small model may decode faster on fewer. The sampled tokens do not depend on it.
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// How often (in tokens) the loop asks whether every row has produced its end token, which makes the host wait for
    /// the device; between checks, rows that have ended keep producing padding on the device. 0 chooses: every token on
    /// the CPU (where the check costs nothing and an extra decoding step would), every 16 tokens on an accelerator.
    /// Default 0. The completions are the same for every value; streaming (a token callback) checks every token.
    /// </summary>
    public int EndCheckInterval { get; init; }
}
