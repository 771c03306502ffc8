using System.Text.Json;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Tiny;

/// <summary>
/// <see cref="IVisionLanguagePolicy"/> over <see cref="TinyVlm"/> and <see cref="VlmTokenizer"/>. Saved as a folder
/// with <c>config.json</c>, <c>model.safetensors</c> and <c>vocab.txt</c>.
/// </summary>
public sealed class TinyVlmPolicy : IVisionLanguagePolicy
{
    /// <summary>File name of the weights.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>File name of the configuration.</summary>
    public const string ConfigFile = PolicyRegistry.ConfigFile;

    /// <summary>File name of the vocabulary.</summary>
    public const string VocabularyFile = VlmTokenizer.VocabularyFile;

    /// <summary>The <c>model_type</c> of this family in <c>config.json</c>.</summary>
    public const string ModelTypeName = "anatomyr1-tiny-vlm";

    private readonly int _imageId;

    /// <summary>Wraps a model and its tokenizer; moves the model to <paramref name="device"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Its tokenizer (vocabulary size must match).</param>
    /// <param name="device">The device.</param>
    public TinyVlmPolicy(TinyVlm model, VlmTokenizer tokenizer, Device device)
    {
        if (model.Config.VocabSize != tokenizer.VocabSize)
        {
            throw new ArgumentException($"The model has {model.Config.VocabSize} token embeddings but the tokenizer {tokenizer.VocabSize} tokens.");
        }

        Model = model;
        Tokenizer = tokenizer;
        Device = device;
        _imageId = tokenizer.IdOf(VlmTokenizer.Image);
        model.to(device);
        ImageProcessor = new TinyImageProcessor(model.Config.ImageSize, model.Config.ImageTokens);
    }

    /// <summary>Registers this family and its tokenizer with <see cref="PolicyRegistry"/> (done by the registry itself).</summary>
    internal static void RegisterFamily()
    {
        PolicyRegistry.Register(new PolicyFamily(ModelTypeName, (folder, device) => Load(folder, device))
        {
            Presets = new[] { "tiny", "small" },
            Create = (preset, device, seed) => Create(DefaultVocabulary.CreateTokenizer(), preset, device, seed),
        });
        PolicyRegistry.RegisterTokenizer(VlmTokenizer.KindName, folder => VlmTokenizer.Load(Path.Combine(folder, VlmTokenizer.VocabularyFile)));
    }

    /// <inheritdoc />
    public string ModelType => ModelTypeName;

    /// <inheritdoc />
    public IImageProcessor ImageProcessor { get; }

    /// <inheritdoc />
    IPolicyTokenizer IVisionLanguagePolicy.Tokenizer => Tokenizer;

    /// <summary>The model.</summary>
    public TinyVlm Model { get; }

    /// <summary>The tokenizer.</summary>
    public VlmTokenizer Tokenizer { get; }

    /// <summary>The configuration.</summary>
    public VlmConfig Config => Model.Config;

    /// <inheritdoc />
    public Device Device { get; }

    /// <summary>Side of the square input images in pixels.</summary>
    public int ImageSize => Config.ImageSize;

    /// <inheritdoc />
    public int MaxSequenceLength => Config.MaxSequence;

    /// <inheritdoc />
    public int EosId => Tokenizer.EosId;

    /// <inheritdoc />
    public int PadId => Tokenizer.PadId;

    /// <summary>Number of parameters.</summary>
    public long ParameterCount => Model.parameters().Sum(p => p.numel());

    /// <summary>Creates a randomly initialised policy (seeded) for a tokenizer.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="preset">Architecture preset (<see cref="VlmConfig.Preset"/>).</param>
    /// <param name="device">Device specification: auto, cpu, cuda or cuda:N.</param>
    /// <param name="seed">Initialisation seed.</param>
    /// <returns>The policy.</returns>
    public static TinyVlmPolicy Create(VlmTokenizer tokenizer, string preset = "tiny", string device = "auto", long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        TorchRuntime.EnsureThreads();
        TorchRuntime.Seed(seed);
        return Create(tokenizer, preset, TorchRuntime.ResolveDevice(device), seed);
    }

    private static TinyVlmPolicy Create(VlmTokenizer tokenizer, string preset, Device device, long seed)
    {
        TorchRuntime.Seed(seed);
        var config = VlmConfig.Preset(preset, tokenizer.VocabSize);
        return new TinyVlmPolicy(new TinyVlm(config), tokenizer, device);
    }

    /// <summary>Loads a policy folder strictly (every tensor present with its shape, nothing extra).</summary>
    /// <param name="folder">The folder written by <see cref="Save"/>.</param>
    /// <param name="device">Device specification.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="InvalidDataException">A file is missing or does not match the configuration; the message names it.</exception>
    public static TinyVlmPolicy Load(string folder, string device = "auto") => Load(folder, TorchRuntime.ResolveDevice(device));

    private static TinyVlmPolicy Load(string folder, Device device)
    {
        foreach (string file in new[] { ConfigFile, WeightsFile, VocabularyFile })
        {
            if (!File.Exists(Path.Combine(folder, file)))
            {
                throw new InvalidDataException($"'{folder}' is not a policy folder: {file} is missing.");
            }
        }

        TorchRuntime.EnsureThreads();
        VlmConfig config;
        try
        {
            config = VlmConfig.FromJson(File.ReadAllText(Path.Combine(folder, ConfigFile)));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Path.Combine(folder, ConfigFile)}: {ex.Message}", ex);
        }

        var tokenizer = VlmTokenizer.Load(Path.Combine(folder, VocabularyFile));
        string weights = Path.Combine(folder, WeightsFile);
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{Path.Combine(folder, ConfigFile)}: {ex.Message}", ex);
        }

        CheckShapesBeforeAllocation(config, weights, Path.Combine(folder, ConfigFile));
        var model = new TinyVlm(config);
        SafeTensors.LoadInto(model, SafeTensors.Deserialize(File.ReadAllBytes(weights), weights), weights);
        return new TinyVlmPolicy(model, tokenizer, device);
    }

    /// <summary>
    /// Refuses, before anything is allocated, a config whose decoder alone needs more weights than the checkpoint holds
    /// (a hostile or mismatched config.json cannot make the loader allocate gigabytes); the strict loader then names
    /// any remaining difference tensor by tensor.
    /// </summary>
    private static void CheckShapesBeforeAllocation(VlmConfig config, string weights, string configPath)
    {
        using var file = SafeTensorsFile.Open(weights);
        long stored = file.Names.Sum(n => file.Info(n).ElementCount);
        long w = config.Width;
        long needed = (config.VocabSize * w) + (config.Layers * ((4 * w * w) + (3 * w * config.MlpHidden)));
        if (needed > stored)
        {
            throw new InvalidDataException($"{configPath} describes at least {needed:N0} weights but {weights} holds {stored:N0}; the config does not belong to these weights.");
        }
    }

    /// <inheritdoc />
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        AtomicFile.WriteFolder(folder, staging =>
        {
            File.WriteAllText(Path.Combine(staging, ConfigFile), Config.ToJson());
            Tokenizer.Save(Path.Combine(staging, VocabularyFile));
            File.WriteAllBytes(Path.Combine(staging, WeightsFile), SafeTensors.Serialize(Model.state_dict(), new Dictionary<string, string> { ["format"] = "pt", ["model"] = "anatomyr1-tinyvlm" }));
        });
    }

    /// <inheritdoc />
    public string FormatPrompt(string question, IReadOnlyList<string> options) => PolicyPrompt.Format(question, options);

    /// <inheritdoc />
    public TokenBatch EncodePrompts(IReadOnlyList<string> prompts) =>
        TokenBatch.LeftPadded(prompts.Select(p => (IReadOnlyList<int>)Tokenizer.Encode(p).Where(id => id != _imageId).ToList()).ToList(), PadId, Device);

    /// <inheritdoc />
    public TokenBatch EncodeCompletions(IReadOnlyList<string> completions) =>
        TokenBatch.RightPadded(completions.Select(c => (IReadOnlyList<int>)Tokenizer.Encode(c).Append(EosId).ToList()).ToList(), PadId, Device);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);

    /// <inheritdoc />
    public Tensor CompletionLogits(ImageBatch images, TokenBatch prompts, TokenBatch completions)
    {
        ArgumentNullException.ThrowIfNull(images);
        return CompletionLogits(images.Values, prompts, completions, images.Images);
    }

    /// <inheritdoc />
    public Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(images);
        return LogProbsOf(CompletionLogits(images.Values, prompts, completions, images.Images), completions, temperature);
    }

    /// <summary>Logits over the completion positions for images given as a stacked [B, 3, S, S] tensor.</summary>
    /// <param name="pixels">Images.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <returns>Logits [B, Tc, V].</returns>
    public Tensor CompletionLogits(Tensor pixels, TokenBatch prompts, TokenBatch completions) => CompletionLogits(pixels, prompts, completions, null);

    /// <summary>
    /// Whether scoring (<see cref="CompletionLogits(ImageBatch, TokenBatch, TokenBatch)"/>, the log-probabilities and
    /// the update's forward pass) encodes each distinct (image, prompt) pair of a batch once and runs only the
    /// completions of the rows that share it against its cached prefix: a GRPO group's G completions share one. The
    /// results and gradients equal those of separate passes up to float rounding. Default true.
    /// </summary>
    public bool ShareScoringPrefix { get; set; } = true;

    private Tensor CompletionLogits(Tensor pixels, TokenBatch prompts, TokenBatch completions, IReadOnlyList<PreparedImage>? images)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        using var scope = NewDisposeScope();
        // Passes without gradient (the reference pass, stored old log-probabilities) use the fused projections too.
        using var fused = is_grad_enabled() ? null : Model.FuseProjections();
        var plan = ShareScoringPrefix && images is not null ? SharedPrefixPlan.Of(images, prompts) : null;
        Tensor states;
        if (plan is null)
        {
            // One pass over prompt + completion; only the states that predict completion tokens reach the vocabulary.
            var ids = cat(new[] { prompts.Ids, completions.Ids }, 1);
            var mask = cat(new[] { prompts.Mask, completions.Mask }, 1);
            states = Model.PrefillHidden(pixels, ids, mask, prompts.Length - 1, completions.Length);
        }
        else
        {
            var unique = plan.UniqueRows(Device);
            var rows = plan.RowToUnique(Device);
            using var cache = new KvCache(Config.Layers);
            var last = Model.PrefillHidden(pixels.index_select(0, unique), prompts.Ids.index_select(0, unique), prompts.Mask.index_select(0, unique), prompts.Length - 1, 1, cache);
            cache.SelectRows(rows);
            var first = last.index_select(0, rows);
            states = completions.Length == 1
                ? first
                : cat(new[] { first, Model.DecodeHidden(completions.Ids.narrow(1, 0, completions.Length - 1), cache) }, 1);
        }

        return Model.Logits(states).MoveToOuterDisposeScope();
    }

    /// <summary>Per-token log-probabilities for images given as a stacked [B, 3, S, S] tensor.</summary>
    /// <param name="pixels">Images.</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="completions">Right-padded completions.</param>
    /// <param name="temperature">Logit temperature.</param>
    /// <returns>Log-probabilities [B, Tc].</returns>
    public Tensor CompletionLogProbs(Tensor pixels, TokenBatch prompts, TokenBatch completions, double temperature = 1.0) =>
        LogProbsOf(CompletionLogits(pixels, prompts, completions, null), completions, temperature);

    private static Tensor LogProbsOf(Tensor logits, TokenBatch completions, double temperature)
    {
        using var scope = NewDisposeScope();
        logits.DetachFromDisposeScope();
        using var owned = logits;
        var scaled = logits;
        if (temperature > 0 && temperature != 1.0)
        {
            using var t = temperature.ToScalar();
            scaled = logits.div(t);
        }

        var logProbs = scaled.log_softmax(-1).gather(2, completions.Ids.unsqueeze(2)).squeeze(2);
        return (logProbs * completions.Mask.to_type(logProbs.dtype)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public GenerationResult Generate(ImageBatch images, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        return Generate(images.Values, prompts, options, onToken);
    }

    /// <summary>Samples completions from images given as a stacked [B, 3, S, S] tensor (see <see cref="Generate(ImageBatch, TokenBatch, GenerationOptions, Func{int, bool})"/>).</summary>
    /// <param name="pixels">Images [B, 3, S, S] in [0, 1].</param>
    /// <param name="prompts">Left-padded prompts.</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="onToken">Per-token callback (one prompt, one sequence), or null.</param>
    /// <returns>B·G completions, prompt-major.</returns>
    public GenerationResult Generate(Tensor pixels, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        Decoding.Validate(options, prompts.Rows, onToken);
        if (Config.ImageTokens + prompts.Length + options.MaxNewTokens > Config.MaxSequence)
        {
            throw new ArgumentException($"Prompt ({prompts.Length} tokens) + {options.MaxNewTokens} new tokens exceed the model's {Config.MaxSequence - Config.ImageTokens} text positions.");
        }

        using var threads = TorchRuntime.UseThreads(options.IntraOpThreads);
        using var noGrad = no_grad();
        using var fused = Model.FuseProjections();
        using var scope = NewDisposeScope();
        int g = options.NumReturnSequences;
        var inputPixels = pixels;
        var ids = prompts.Ids;
        var mask = prompts.Mask;
        if (!options.SharePrefix && g > 1)
        {
            inputPixels = pixels.repeat_interleave(g, 0);
            ids = ids.repeat_interleave(g, 0);
            mask = mask.repeat_interleave(g, 0);
        }

        // Room for the image, the prompt and every new token: the cache is written in place, never regrown.
        using var cache = new KvCache(Config.Layers, Config.ImageTokens + prompts.Length + options.MaxNewTokens);
        var logits = Model.Prefill(inputPixels, ids, mask, cache).select(1, -1);
        if (options.SharePrefix && g > 1)
        {
            logits = logits.repeat_interleave(g, 0);
            cache.Expand(g);
        }

        var result = Decoding.Run(this, logits, next => Model.Decode(next, cache).select(1, 0), options, onToken, cache.SelectRows);
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor InputEmbeddings()
    {
        var weight = Model.named_parameters().First(p => p.name == "embed_tokens.weight").parameter;
        return weight.detach().to(ScalarType.Float32).cpu().clone();
    }

    /// <inheritdoc />
    public IVisionLanguagePolicy CreateFrozenCopy() => new TinyVlmPolicy(new TinyVlm(Config).CopyFrom(Model), Tokenizer, Device);

    /// <inheritdoc/>
    public nn.Module AdapterModel => Model;

    /// <inheritdoc/>
    public bool GradientCheckpointing
    {
        get => Model.GradientCheckpointing;
        set => Model.GradientCheckpointing = value;
    }

    /// <inheritdoc />
    public IEnumerable<Parameter> TrainableParameters() => Model.parameters().Where(p => p.requires_grad);

    /// <inheritdoc />
    public IEnumerable<Parameter> VisionEncoderParameters() => Model.Vision.parameters();

    /// <inheritdoc />
    public void SetTraining(bool training) => Model.train(training);

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
