using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// A vision-language policy, whatever its size or architecture: the one type the trainers, estimators, the
/// transformer, the S(q) embedder, the chat client and the command line know. It owns its image processor, its
/// prompt format and tokenizer, batched and streaming generation, per-token log-probabilities of given completions,
/// its token embeddings, a frozen copy for the reference model, its trainable parameters, and saving into a folder
/// that <see cref="PolicyRegistry.Load"/> reads back (dispatching on the folder's <c>config.json</c> model type).
/// </summary>
/// <remarks>
/// Batches are prompt rows, each with one image. Images may yield different numbers of image tokens
/// (<see cref="ImageBatch.TokenCounts"/>); a policy pads and masks so that a row's results do not depend on the
/// other rows of its batch. A new architecture implements this interface and registers a <see cref="PolicyFamily"/>
/// (see <c>docs/architecture.md</c>).
/// </remarks>
public interface IVisionLanguagePolicy : IDisposable
{
    /// <summary>The model type written into the saved <c>config.json</c> (the key of its <see cref="PolicyFamily"/>).</summary>
    string ModelType { get; }

    /// <summary>The device every tensor of the policy lives on.</summary>
    Device Device { get; }

    /// <summary>Turns images of any source and size into this model's input.</summary>
    IImageProcessor ImageProcessor { get; }

    /// <summary>The text tokenizer.</summary>
    IPolicyTokenizer Tokenizer { get; }

    /// <summary>Most positions one sequence may take: image tokens, prompt and completion together.</summary>
    int MaxSequenceLength { get; }

    /// <summary>Id of the end-of-sequence token.</summary>
    int EosId { get; }

    /// <summary>Id of the padding token.</summary>
    int PadId { get; }

    /// <summary>The prompt this policy reads for a multiple-choice question (its own wording and option layout).</summary>
    /// <param name="question">The question.</param>
    /// <param name="options">The options, in order (letters A, B, … by position).</param>
    /// <returns>The prompt text (without the image, which the policy places itself).</returns>
    string FormatPrompt(string question, IReadOnlyList<string> options);

    /// <summary>Encodes prompts, left-padded.</summary>
    /// <param name="prompts">The prompt texts.</param>
    /// <returns>Ids and mask on <see cref="Device"/>.</returns>
    TokenBatch EncodePrompts(IReadOnlyList<string> prompts);

    /// <summary>Encodes target completions, right-padded, each followed by the end token.</summary>
    /// <param name="completions">The completion texts.</param>
    /// <returns>Ids and mask on <see cref="Device"/>.</returns>
    TokenBatch EncodeCompletions(IReadOnlyList<string> completions);

    /// <summary>Decodes completion ids to text (stops at the end token).</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    string Decode(IEnumerable<int> ids);

    /// <summary>
    /// A prompt's ids as the decoder sees them, given its image's token count: models that place image tokens inside
    /// the text (Qwen2.5-VL's <c>&lt;|image_pad|&gt;</c>) expand the placeholder; models that put the image in front of
    /// the text return the ids unchanged (the default).
    /// </summary>
    /// <param name="promptIds">The prompt's ids from <see cref="EncodePrompts"/>, without padding.</param>
    /// <param name="imageTokens">The image's token count (<see cref="PreparedImage.TokenCount"/>).</param>
    /// <returns>The ids the decoder runs on.</returns>
    IReadOnlyList<int> ExpandImageTokens(IReadOnlyList<int> promptIds, int imageTokens) => promptIds;

    /// <summary>
    /// Log-probabilities [B, Tc] of <paramref name="completions"/> after <paramref name="prompts"/> and the images,
    /// under logits divided by <paramref name="temperature"/> (0 where the completion mask is 0). Differentiable.
    /// </summary>
    /// <param name="images">One image per row.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <param name="temperature">Logit temperature (as used when sampling).</param>
    /// <returns>The per-token log-probabilities.</returns>
    Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0);

    /// <summary>
    /// Log-probabilities [B, Tc] of <paramref name="completions"/> as <see cref="CompletionLogProbs"/> gives them
    /// (differentiable, 0 where the completion mask is 0), and the entropy [B, Tc] of each position's distribution
    /// under the same temperature (without gradient, 0 where the mask is 0): what a policy-gradient update needs.
    /// </summary>
    /// <remarks>
    /// The default computes the full logits with <see cref="CompletionLogits"/>, then log_softmax, the completion
    /// tokens' entries and the entropy. A policy with a large vocabulary overrides it to avoid materialising the
    /// [B, Tc, V] logits.
    /// </remarks>
    /// <param name="images">One image per row.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <param name="temperature">Logit temperature (as used when sampling); values ≤ 0 and 1 leave the logits unscaled.</param>
    /// <returns>The per-token log-probabilities and entropies.</returns>
    (Tensor LogProbs, Tensor Entropy) CompletionLogProbsAndEntropy(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(completions);
        using var scope = NewDisposeScope();
        var logits = CompletionLogits(images, prompts, completions);
        if (temperature > 0 && temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var all = logits.log_softmax(-1);
        var mask = completions.Mask.to(all.device).to_type(all.dtype);
        var logProbs = all.gather(2, completions.Ids.to(all.device).unsqueeze(2)).squeeze(2) * mask;
        Tensor entropy;
        using (no_grad())
        {
            entropy = -(all.exp() * all).sum(-1) * mask;
        }

        return (logProbs.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope());
    }

    /// <summary>Logits over the completion positions [B, Tc, V] (for entropy and the loss), differentiable.</summary>
    /// <param name="images">One image per row.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <returns>The logits that predict each completion token.</returns>
    Tensor CompletionLogits(ImageBatch images, TokenBatch prompts, TokenBatch completions);

    /// <summary>
    /// Samples completions (no gradient). With <paramref name="onToken"/>, generation is for one prompt and one
    /// sequence, and each new token id is reported as soon as it is chosen (for streaming); the tokens are exactly
    /// those drawn without the callback for the same options and seed.
    /// </summary>
    /// <param name="images">One image per prompt row.</param>
    /// <param name="prompts">Left-padded prompts [B, T].</param>
    /// <param name="options">Sampling settings, including G.</param>
    /// <param name="onToken">Called with each new token id, the end token included; return false to stop early
    /// (the result is then marked truncated unless that token was the end token). Null for none.</param>
    /// <returns>B·G completions, prompt-major.</returns>
    /// <exception cref="ArgumentException">Invalid options, a sequence longer than the model allows, or a callback with
    /// more than one prompt or return sequence.</exception>
    GenerationResult Generate(ImageBatch images, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null);

    /// <summary>A detached float32 copy of the input token embedding table [vocabulary, width] on the CPU.</summary>
    /// <returns>The table (the caller disposes it).</returns>
    Tensor InputEmbeddings();

    /// <summary>A deep copy with gradients off, for the reference policy.</summary>
    /// <returns>The copy.</returns>
    IVisionLanguagePolicy CreateFrozenCopy();

    /// <summary>The parameters an optimiser should update.</summary>
    /// <returns>The trainable parameters.</returns>
    IEnumerable<Parameter> TrainableParameters();

    /// <summary>The parameters of the image encoder (a subset of all parameters), for freezing it or giving it its own learning rate.</summary>
    /// <returns>The image encoder's parameters.</returns>
    IEnumerable<Parameter> VisionEncoderParameters();

    /// <summary>
    /// The module tree that LoRA adapters attach to (<see cref="Lora.LoraAdapters.Attach"/> matches the names of its
    /// <c>Linear</c> modules), or null (the default) when this policy cannot take adapters. Its <c>Linear</c> modules
    /// must be invoked through <c>Module.call</c>, which runs the adapters' forward hooks.
    /// </summary>
    nn.Module? AdapterModel => null;

    /// <summary>
    /// Whether training passes recompute each decoder layer's activations in the backward pass instead of keeping them
    /// (activation checkpointing: less memory, one more forward pass per layer). Off by default; the default
    /// implementation supports only off.
    /// </summary>
    /// <exception cref="NotSupportedException">Switching it on for a policy without activation checkpointing.</exception>
    bool GradientCheckpointing
    {
        get => false;
        set
        {
            if (value)
            {
                throw new NotSupportedException($"The {ModelType} policy has no activation checkpointing.");
            }
        }
    }

    /// <summary>Switches training mode (dropout and the like) on or off.</summary>
    /// <param name="training">True for training.</param>
    void SetTraining(bool training);

    /// <summary>Saves the policy into a folder (written beside it and renamed into place) with a <c>config.json</c> that names <see cref="ModelType"/>.</summary>
    /// <param name="folder">The folder.</param>
    void Save(string folder);
}
