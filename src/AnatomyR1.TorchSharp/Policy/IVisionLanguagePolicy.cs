using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// What the trainers need from a vision-language policy, independent of its size or architecture: prompt and
/// completion encoding, logits, per-token log-probabilities of given completions, batched sampling, a frozen copy
/// for the reference model, its trainable parameters, and saving.
/// </summary>
public interface IVisionLanguagePolicy : IDisposable
{
    /// <summary>The device every tensor of the policy lives on.</summary>
    Device Device { get; }

    /// <summary>Side of the square input images in pixels.</summary>
    int ImageSize { get; }

    /// <summary>Id of the end-of-sequence token.</summary>
    int EosId { get; }

    /// <summary>Id of the padding token.</summary>
    int PadId { get; }

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
    /// Log-probabilities [B, Tc] of <paramref name="completions"/> after <paramref name="prompts"/> and the images,
    /// under logits divided by <paramref name="temperature"/> (0 where the completion mask is 0). Differentiable.
    /// </summary>
    /// <param name="pixels">Images [B, 3, S, S] in [0, 1].</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <param name="temperature">Logit temperature (as used when sampling).</param>
    /// <returns>The per-token log-probabilities.</returns>
    Tensor CompletionLogProbs(Tensor pixels, TokenBatch prompts, TokenBatch completions, double temperature = 1.0);

    /// <summary>Logits over the completion positions [B, Tc, V] (for entropy and the loss), differentiable.</summary>
    /// <param name="pixels">Images.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <returns>The logits that predict each completion token.</returns>
    Tensor CompletionLogits(Tensor pixels, TokenBatch prompts, TokenBatch completions);

    /// <summary>Samples completions (no gradient).</summary>
    /// <param name="pixels">Images [B, 3, S, S].</param>
    /// <param name="prompts">Left-padded prompts [B, T].</param>
    /// <param name="options">Sampling settings, including G.</param>
    /// <returns>B·G completions, prompt-major.</returns>
    GenerationResult Generate(Tensor pixels, TokenBatch prompts, GenerationOptions options);

    /// <summary>A deep copy with gradients off, for the reference policy.</summary>
    /// <returns>The copy.</returns>
    IVisionLanguagePolicy CreateFrozenCopy();

    /// <summary>The parameters an optimiser should update.</summary>
    /// <returns>The trainable parameters.</returns>
    IEnumerable<Parameter> TrainableParameters();

    /// <summary>The parameters of the image encoder (a subset of all parameters), for freezing it or giving it its own learning rate.</summary>
    /// <returns>The image encoder's parameters.</returns>
    IEnumerable<Parameter> VisionEncoderParameters();

    /// <summary>Switches training mode (dropout and the like) on or off.</summary>
    /// <param name="training">True for training.</param>
    void SetTraining(bool training);

    /// <summary>Saves the policy into a folder (written beside it and renamed into place).</summary>
    /// <param name="folder">The folder.</param>
    void Save(string folder);
}
