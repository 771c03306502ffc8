using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Tests.Qwen;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Memory;

/// <summary>Qwen2.5-VL policies and batches for the memory tests.</summary>
internal static class QwenMemoryFixtures
{
    public static string TinyFolder => Path.Combine(QwenReferenceTests.FixtureFolder, "tiny");

    /// <summary>The fixture checkpoint (tied embeddings).</summary>
    public static QwenVLPolicy LoadTiny() => (QwenVLPolicy)PolicyRegistry.Load(TinyFolder, "cpu");

    /// <summary>A policy with random weights for <paramref name="config"/>, with the fixture's tokenizer and image processor.</summary>
    public static QwenVLPolicy Create(QwenVLConfig config, long seed)
    {
        manual_seed(seed);
        var model = new QwenVLModel(config);
        model.eval();
        return new QwenVLPolicy(model, Qwen2Tokenizer.Load(TinyFolder), new QwenImageProcessor(QwenImageProcessorOptions.Load(TinyFolder)), CPU);
    }

    public static ImageBatch Images(IVisionLanguagePolicy policy, params string[] files) =>
        policy.ImageProcessor.Collate(files.Select(f => policy.ImageProcessor.Prepare(PolicyImage.FromFile(Path.Combine(QwenReferenceTests.FixtureFolder, "images", f)))).ToList(), policy.Device);

    /// <summary>Two rows with different images and completions of different lengths (so the second is padded).</summary>
    public static (ImageBatch Images, TokenBatch Prompts, TokenBatch Completions) Batch(IVisionLanguagePolicy policy)
    {
        var images = Images(policy, "img_84x112.png", "img_56x56.png");
        var prompts = policy.EncodePrompts(new[]
        {
            policy.FormatPrompt("Which anatomy is above the grasper?", new[] { "Liver", "Gut" }),
            policy.FormatPrompt("What is at the centre?", new[] { "Fat", "Abdominal wall", "Liver" }),
        });
        var completions = policy.EncodeCompletions(new[] { "<think> the liver is above </think> <answer>A</answer>", "<answer>B</answer>" });
        return (images, prompts, completions);
    }

    /// <summary>Named copies of every parameter's gradient (null where none), then clears them.</summary>
    public static Dictionary<string, Tensor?> TakeGradients(nn.Module model)
    {
        var result = new Dictionary<string, Tensor?>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            result[name] = parameter.grad is null ? null : parameter.grad.detach().clone().DetachFromDisposeScope();
            parameter.grad = null;
        }

        return result;
    }

    /// <summary>The full-logits reference of CompletionLogProbs: logits, temperature, log_softmax, gather, mask.</summary>
    public static (Tensor LogProbs, Tensor Entropy) FullScores(IVisionLanguagePolicy policy, ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature)
    {
        var logits = policy.CompletionLogits(images, prompts, completions);
        if (temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var all = logits.log_softmax(-1);
        var mask = completions.Mask.to_type(ScalarType.Float32);
        var logProbs = all.gather(2, completions.Ids.unsqueeze(2)).squeeze(2) * mask;
        var entropy = -(all.exp() * all).sum(-1).detach() * mask;
        return (logProbs, entropy);
    }
}

/// <summary>
/// A policy that forwards every member to another and leaves <see cref="IVisionLanguagePolicy.CompletionLogProbsAndEntropy"/>
/// to the interface's default (full logits through <see cref="CompletionLogits"/>).
/// </summary>
internal class DelegatingPolicy : IVisionLanguagePolicy
{
    public DelegatingPolicy(IVisionLanguagePolicy inner) => Inner = inner;

    public IVisionLanguagePolicy Inner { get; }

    public string ModelType => Inner.ModelType;

    public Device Device => Inner.Device;

    public IImageProcessor ImageProcessor => Inner.ImageProcessor;

    public IPolicyTokenizer Tokenizer => Inner.Tokenizer;

    public int MaxSequenceLength => Inner.MaxSequenceLength;

    public int EosId => Inner.EosId;

    public int PadId => Inner.PadId;

    public string FormatPrompt(string question, IReadOnlyList<string> options) => Inner.FormatPrompt(question, options);

    public TokenBatch EncodePrompts(IReadOnlyList<string> prompts) => Inner.EncodePrompts(prompts);

    public TokenBatch EncodeCompletions(IReadOnlyList<string> completions) => Inner.EncodeCompletions(completions);

    public string Decode(IEnumerable<int> ids) => Inner.Decode(ids);

    public IReadOnlyList<int> ExpandImageTokens(IReadOnlyList<int> promptIds, int imageTokens) => Inner.ExpandImageTokens(promptIds, imageTokens);

    public virtual Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0) =>
        Inner.CompletionLogProbs(images, prompts, completions, temperature);

    public Tensor CompletionLogits(ImageBatch images, TokenBatch prompts, TokenBatch completions) => Inner.CompletionLogits(images, prompts, completions);

    public GenerationResult Generate(ImageBatch images, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null) =>
        Inner.Generate(images, prompts, options, onToken);

    public Tensor InputEmbeddings() => Inner.InputEmbeddings();

    public IVisionLanguagePolicy CreateFrozenCopy() => Wrap(Inner.CreateFrozenCopy());

    public IEnumerable<Parameter> TrainableParameters() => Inner.TrainableParameters();

    public IEnumerable<Parameter> VisionEncoderParameters() => Inner.VisionEncoderParameters();

    public void SetTraining(bool training) => Inner.SetTraining(training);

    public void Save(string folder) => Inner.Save(folder);

    public void Dispose() => Inner.Dispose();

    protected virtual IVisionLanguagePolicy Wrap(IVisionLanguagePolicy inner) => new DelegatingPolicy(inner);
}

/// <summary>
/// Scores as the trainer did before <see cref="IVisionLanguagePolicy.CompletionLogProbsAndEntropy"/> existed: old and
/// reference log-probabilities from the full logits, and in the update pass log_softmax of the full logits, the gathered
/// (unmasked) log-probabilities and the entropy of every position.
/// </summary>
internal sealed class LegacyScoringPolicy : DelegatingPolicy, IVisionLanguagePolicy
{
    public LegacyScoringPolicy(IVisionLanguagePolicy inner)
        : base(inner)
    {
    }

    public override Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        return QwenMemoryFixtures.FullScores(this, images, prompts, completions, temperature).LogProbs.MoveToOuterDisposeScope();
    }

    (Tensor LogProbs, Tensor Entropy) IVisionLanguagePolicy.CompletionLogProbsAndEntropy(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature)
    {
        using var scope = NewDisposeScope();
        var logits = CompletionLogits(images, prompts, completions);
        if (temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var all = logits.log_softmax(-1);
        var logProbs = all.gather(2, completions.Ids.unsqueeze(2)).squeeze(2);
        Tensor entropy;
        using (no_grad())
        {
            entropy = -(all.exp() * all).sum(-1);
        }

        return (logProbs.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope());
    }

    protected override IVisionLanguagePolicy Wrap(IVisionLanguagePolicy inner) => new LegacyScoringPolicy(inner);
}
