using AnatomyR1.IO;
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Models.Memory;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Qwen2.5-VL as an <see cref="IVisionLanguagePolicy"/>, loaded from a Hugging Face model folder
/// (<c>config.json</c>, <c>model.safetensors</c> or shards with <c>model.safetensors.index.json</c>,
/// <c>tokenizer.json</c> or <c>vocab.json</c> + <c>merges.txt</c>, <c>preprocessor_config.json</c>). Prompts are
/// rendered with the Qwen2.5-VL chat template (one image, then the R1 question text); each prompt carries a single
/// <c>&lt;|image_pad|&gt;</c> that is expanded to the image's token count inside the model calls, so the GRPO
/// trainer, the estimators and the chat client work unchanged. Completions end with <c>&lt;|im_end|&gt;</c>.
/// </summary>
public sealed class QwenVLPolicy : IVisionLanguagePolicy
{
    /// <summary>The single-file weights name.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The preprocessor settings file.</summary>
    public const string PreprocessorFile = "preprocessor_config.json";

    private readonly R1PromptBuilder _prompts = new(new R1PromptOptions { ImageToken = string.Empty });
    private readonly int _imageId;
    private readonly int _visionStartId;
    private readonly Tensor _structural;
    private int _chunkSize = ChunkedLogProbs.DefaultChunkSize;

    /// <summary>Wraps a model, its tokenizer and its image processor.</summary>
    /// <param name="model">The model (moved to <paramref name="device"/>).</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="processor">The image processor.</param>
    /// <param name="device">Where the model runs.</param>
    /// <exception cref="ArgumentException">The tokenizer lacks a token the model needs or disagrees with the config's ids.</exception>
    public QwenVLPolicy(QwenVLModel model, Qwen2Tokenizer tokenizer, QwenImageProcessor processor, Device device)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Processor = processor ?? throw new ArgumentNullException(nameof(processor));
        Device = device ?? throw new ArgumentNullException(nameof(device));
        var config = model.Config;
        _imageId = RequireToken("<|image_pad|>", config.ImageTokenId);
        _visionStartId = RequireToken("<|vision_start|>", config.VisionStartTokenId);
        RequireToken("<|vision_end|>", config.VisionEndTokenId);
        _structural = tensor(new long[] { _imageId, _visionStartId, config.VideoTokenId }.Where(id => id < Tokenizer.VocabSize).ToArray()).DetachFromDisposeScope();
        EosId = Tokenizer.TryGetTokenId("<|im_end|>", out int eos) ? eos : config.EosTokenId ?? throw new ArgumentException("The tokenizer has no <|im_end|> and the config no eos_token_id.", nameof(tokenizer));
        PadId = Tokenizer.TryGetTokenId("<|endoftext|>", out int pad) ? pad : config.PadTokenId ?? EosId;
        if (Tokenizer.VocabSize > config.Text.VocabSize)
        {
            throw new ArgumentException($"The tokenizer has {Tokenizer.VocabSize} tokens but the model only {config.Text.VocabSize} embeddings.", nameof(tokenizer));
        }

        model.to(device);
    }

    /// <summary>The Qwen2.5-VL <c>model_type</c>.</summary>
    public string ModelType => QwenVLConfig.ModelTypeName;

    /// <summary>The model.</summary>
    public QwenVLModel Model { get; }

    /// <summary>The tokenizer.</summary>
    public Qwen2Tokenizer Tokenizer { get; }

    /// <summary>The image processor.</summary>
    public QwenImageProcessor Processor { get; }

    /// <inheritdoc/>
    public Device Device { get; }

    /// <inheritdoc/>
    public IImageProcessor ImageProcessor => Processor;

    IPolicyTokenizer IVisionLanguagePolicy.Tokenizer => Tokenizer;

    /// <inheritdoc/>
    public int MaxSequenceLength => Model.Config.Text.MaxPositionEmbeddings;

    /// <inheritdoc/>
    public int EosId { get; }

    /// <summary>
    /// Recompute each decoder layer's activations during backward instead of keeping them (see
    /// <see cref="QwenVLModel.GradientCheckpointing"/>); applies in training mode. Off by default.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => Model.GradientCheckpointing;
        set => Model.GradientCheckpointing = value;
    }

    /// <summary>
    /// Completion positions scored per chunk by <see cref="CompletionLogProbs"/> and
    /// <see cref="CompletionLogProbsAndEntropy"/>: at most this many rows of logits over the vocabulary exist at once
    /// (default <see cref="ChunkedLogProbs.DefaultChunkSize"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int LogProbChunkSize
    {
        get => _chunkSize;
        set => _chunkSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The chunk size must be positive.");
    }

    /// <inheritdoc/>
    public int PadId { get; }

    /// <summary>Registers the family under <c>qwen2_5_vl</c> and the tokenizer kind.</summary>
    internal static void RegisterFamily()
    {
        PolicyRegistry.Register(new PolicyFamily(QwenVLConfig.ModelTypeName, (folder, device) => Load(folder, device))
        {
            Presets = QwenPresets.Names,
            Create = QwenPresets.Create,
        });
        Qwen2Tokenizer.Register();
    }

    /// <summary>Loads a Hugging Face Qwen2.5-VL folder.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="device">"auto", "cpu", "cuda" or "cuda:N".</param>
    /// <param name="options">Loading options (dtype, image pixel cap); null for the defaults.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="InvalidDataException">A file is missing or malformed, or the weights do not match the config; the message names the file.</exception>
    public static QwenVLPolicy Load(string folder, string device = "auto", QwenLoadOptions? options = null) =>
        Load(folder, TorchRuntime.ResolveDevice(device), options);

    /// <summary>Loads a Hugging Face Qwen2.5-VL folder onto a resolved device.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="device">The device.</param>
    /// <param name="options">Loading options; null for the defaults.</param>
    /// <returns>The policy.</returns>
    public static QwenVLPolicy Load(string folder, Device device, QwenLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(device);
        options ??= new QwenLoadOptions();
        TorchRuntime.EnsureThreads();
        string configPath = Path.Combine(folder, PolicyRegistry.ConfigFile);
        if (!File.Exists(configPath))
        {
            throw new InvalidDataException($"'{folder}' is not a model folder: {PolicyRegistry.ConfigFile} is missing.");
        }

        var config = QwenVLConfig.Load(configPath);
        var tokenizer = Qwen2Tokenizer.Load(folder);
        var processorOptions = File.Exists(Path.Combine(folder, PreprocessorFile))
            ? QwenImageProcessorOptions.Load(folder)
            : new QwenImageProcessorOptions();
        if (options.MaxPixels is long cap)
        {
            processorOptions = processorOptions with { MaxPixelsCap = cap };
        }

        using var checkpoint = HuggingFaceCheckpoint.Open(folder);
        CheckWeightCount(config, checkpoint, folder);
        var previous = get_default_dtype();
        QwenVLModel model;
        try
        {
            set_default_dtype(options.Dtype);
            model = new QwenVLModel(config);
        }
        finally
        {
            set_default_dtype(previous);
        }

        try
        {
            checkpoint.LoadInto(model, QwenCheckpointNames.For(config));
            model.eval();
            return new QwenVLPolicy(model, tokenizer, new QwenImageProcessor(processorOptions), device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Compares the weights the config implies with the checkpoint's before anything large is allocated.</summary>
    private static void CheckWeightCount(QwenVLConfig config, HuggingFaceCheckpoint checkpoint, string folder)
    {
        long stored = 0;
        var map = QwenCheckpointNames.For(config);
        foreach (string name in checkpoint.Names)
        {
            if (map(name) is not null)
            {
                stored += checkpoint.Info(name).ElementCount;
            }
        }

        if (stored != config.ParameterCount)
        {
            throw new InvalidDataException($"{Path.Combine(folder, PolicyRegistry.ConfigFile)} describes {config.ParameterCount:N0} weights but the checkpoint in '{folder}' holds {stored:N0}; the config does not belong to these weights.");
        }
    }

    /// <inheritdoc/>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        AtomicFile.WriteFolder(folder, staging =>
        {
            File.WriteAllText(Path.Combine(staging, PolicyRegistry.ConfigFile), Model.Config.ToJson());
            var tensors = Model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter));
            SafeTensorsWriter.Write(Path.Combine(staging, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            Tokenizer.Save(staging);
            Processor.Options.Save(staging);
        });
    }

    /// <summary>
    /// The user turn for a question: the image, then the R1 prompt text (question, lettered options, think/answer
    /// instructions), rendered with the Qwen2.5-VL chat template and the generation prompt.
    /// </summary>
    /// <inheritdoc/>
    public string FormatPrompt(string question, IReadOnlyList<string> options) =>
        QwenChatTemplate.Render(new[] { QwenChatMessage.User(QwenContentPart.Image(), QwenContentPart.FromText(_prompts.Build(question, options))) }, addGenerationPrompt: true);

    /// <summary>Encodes chat-formatted prompts; each must contain one <c>&lt;|image_pad|&gt;</c> (expanded per image later).</summary>
    /// <inheritdoc/>
    public TokenBatch EncodePrompts(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var rows = new List<IReadOnlyList<int>>(prompts.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            var ids = Tokenizer.Encode(prompts[i]);
            int pads = ids.Count(id => id == _imageId);
            if (pads != 1)
            {
                throw new ArgumentException($"Prompt {i} holds {pads} <|image_pad|> tokens; a Qwen2.5-VL prompt needs exactly one image placeholder (use FormatPrompt).", nameof(prompts));
            }

            rows.Add(ids);
        }

        return TokenBatch.LeftPadded(rows, PadId, Device);
    }

    /// <inheritdoc/>
    public TokenBatch EncodeCompletions(IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(completions);
        return TokenBatch.RightPadded(completions.Select(c => (IReadOnlyList<int>)Tokenizer.Encode(c).Append(EosId).ToList()).ToList(), PadId, Device);
    }

    /// <summary>Decodes ids, leaving out special tokens such as <c>&lt;|im_end|&gt;</c>.</summary>
    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids, skipSpecialTokens: true);

    /// <summary>
    /// A prompt's ids as the model sees them: the single <c>&lt;|image_pad|&gt;</c> replaced by the image's
    /// <paramref name="imageTokens"/> copies.
    /// </summary>
    /// <param name="promptIds">The prompt's ids (no padding).</param>
    /// <param name="imageTokens">The image's token count.</param>
    /// <returns>The expanded ids.</returns>
    public IReadOnlyList<int> ExpandImageTokens(IReadOnlyList<int> promptIds, int imageTokens)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        var expanded = new List<int>(promptIds.Count + imageTokens);
        int seen = 0;
        foreach (int id in promptIds)
        {
            if (id == _imageId)
            {
                seen++;
                expanded.AddRange(Enumerable.Repeat(_imageId, imageTokens));
            }
            else
            {
                expanded.Add(id);
            }
        }

        return seen == 1
            ? expanded
            : throw new ArgumentException($"A prompt holds {seen} <|image_pad|> tokens; exactly one image placeholder is expected.", nameof(promptIds));
    }

    /// <summary>
    /// Whether scoring (logits, log-probabilities, the update's forward pass) encodes each distinct (image, prompt) pair
    /// of a batch once and runs only the completions of the rows that share it against its cached prefix: a GRPO
    /// group's G completions share one. Results and gradients equal those of separate passes up to float rounding.
    /// Default true.
    /// </summary>
    public bool ShareScoringPrefix { get; set; } = true;

    /// <inheritdoc/>
    public Tensor CompletionLogits(ImageBatch images, TokenBatch prompts, TokenBatch completions)
    {
        using var scope = NewDisposeScope();
        var logits = Model.Logits(CompletionHidden(images, prompts, completions));
        return logits.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Scores the completion tokens chunk by chunk (<see cref="LogProbChunkSize"/>) without forming the full logits.</summary>
    /// <inheritdoc/>
    public Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0) =>
        Score(images, prompts, completions, temperature, entropy: false).LogProbs;

    /// <summary>
    /// Log-probabilities and entropies of the completion tokens, computed chunk by chunk (<see cref="LogProbChunkSize"/>
    /// positions at a time, padding skipped) from the final hidden states and <see cref="QwenVLModel.OutputWeight"/>,
    /// so that the [B, Tc, V] logits never exist, in the forward or the backward pass.
    /// </summary>
    /// <inheritdoc/>
    public (Tensor LogProbs, Tensor Entropy) CompletionLogProbsAndEntropy(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        var (logProbs, entropy) = Score(images, prompts, completions, temperature, entropy: true);
        return (logProbs, entropy!);
    }

    private (Tensor LogProbs, Tensor? Entropy) Score(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature, bool entropy)
    {
        using var scope = NewDisposeScope();
        var hidden = CompletionHidden(images, prompts, completions);
        long rows = hidden.shape[0], length = hidden.shape[1];
        var real = completions.Mask.to(Device).reshape(-1).nonzero().squeeze(1);
        var states = hidden.reshape(rows * length, hidden.shape[2]).index_select(0, real);
        var targets = completions.Ids.to(Device).reshape(-1).index_select(0, real);
        Tensor logProbs;
        Tensor? entropies = null;
        if (entropy)
        {
            (logProbs, entropies) = ChunkedLogProbs.LogProbsAndEntropy(states, Model.OutputWeight, targets, temperature, LogProbChunkSize);
        }
        else
        {
            logProbs = ChunkedLogProbs.LogProbs(states, Model.OutputWeight, targets, temperature, LogProbChunkSize);
        }

        Tensor Place(Tensor values) =>
            zeros(rows * length, dtype: ScalarType.Float32, device: Device).index_copy(0, real, values).reshape(rows, length);

        var placed = Place(logProbs).MoveToOuterDisposeScope();
        Tensor? placedEntropy = null;
        if (entropies is not null)
        {
            using var noGrad = no_grad();
            placedEntropy = Place(entropies).MoveToOuterDisposeScope();
        }

        return (placed, placedEntropy);
    }

    /// <summary>The final hidden states [B, Tc, width] at the positions that predict each completion token.</summary>
    private Tensor CompletionHidden(ImageBatch images, TokenBatch prompts, TokenBatch completions)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        using var scope = NewDisposeScope();
        // Passes without gradient (the reference pass, stored old log-probabilities) use the fused projections too.
        using var fused = is_grad_enabled() ? null : Model.FuseProjections();
        var plan = ShareScoringPrefix ? SharedPrefixPlan.Of(images.Images, prompts) : null;
        if (plan is null)
        {
            using var expanded = Expand(images, prompts);
            var ids = cat(new[] { expanded.Ids, completions.Ids.to(Device) }, 1);
            var mask = cat(new[] { expanded.Mask, completions.Mask.to(Device) }, 1);
            var hidden = Model.Prefill(images.Values.to(Device), Grids(images), ids, mask, promptLength: expanded.Length);
            return hidden.narrow(1, expanded.Length - 1, completions.Length).MoveToOuterDisposeScope();
        }

        // Each distinct (image, prompt) is encoded and prefilled once; its rows continue from the cached prefix.
        var unique = plan.UniqueRows(prompts.Ids.device);
        using var subset = ImageProcessor.Collate(plan.UniqueRowList.Select(r => images.Images[(int)r]).ToList(), Device);
        using var subsetPrompts = new TokenBatch(prompts.Ids.index_select(0, unique), prompts.Mask.index_select(0, unique));
        using var prefix = Expand(subset, subsetPrompts);
        using var cache = new KvCache(Model.Text.LayerCount);
        var last = Model.Prefill(subset.Values.to(Device), Grids(subset), prefix.Ids, prefix.Mask, cache).select(1, -1);
        var rows = plan.RowToUnique(Device);
        cache.SelectRows(rows);
        var first = last.index_select(0, rows).unsqueeze(1);
        var states = completions.Length == 1
            ? first
            : cat(new[] { first, Model.Decode(completions.Ids.to(Device).narrow(1, 0, completions.Length - 1), cache) }, 1);
        return states.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public GenerationResult Generate(ImageBatch images, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(prompts);
        Decoding.Validate(options, prompts.Rows, onToken);
        using var threads = TorchRuntime.UseThreads(options.IntraOpThreads);
        using var noGrad = no_grad();
        using var fused = Model.FuseProjections();
        using var scope = NewDisposeScope();
        int g = options.NumReturnSequences;
        using var expanded = Expand(images, prompts);
        if (expanded.Length + options.MaxNewTokens > MaxSequenceLength)
        {
            throw new ArgumentException($"Prompt ({expanded.Length} tokens with the image) + {options.MaxNewTokens} new tokens exceed the model's {MaxSequenceLength} positions.", nameof(options));
        }

        var patches = images.Values.to(Device);
        var grids = Grids(images);
        var ids = expanded.Ids;
        var mask = expanded.Mask;
        if (!options.SharePrefix && g > 1)
        {
            (patches, grids) = RepeatImages(images, g);
            ids = ids.repeat_interleave(g, 0);
            mask = mask.repeat_interleave(g, 0);
        }

        // Room for the prompt (image tokens included) and every new token: the cache is written in place, never regrown.
        using var cache = new KvCache(Model.Text.LayerCount, expanded.Length + options.MaxNewTokens);
        var hidden = Model.Prefill(patches, grids, ids, mask, cache);
        var logits = Sampleable(Model.Logits(hidden.select(1, -1)));
        if (options.SharePrefix && g > 1)
        {
            logits = logits.repeat_interleave(g, 0);
            cache.Expand(g);
        }

        var result = Decoding.Run(this, logits, next => Sampleable(Model.Logits(Model.Decode(next, cache).select(1, 0))), options, onToken, cache.SelectRows);
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor InputEmbeddings() => Model.Text.EmbeddingWeight.detach().to(ScalarType.Float32).cpu().clone();

    /// <inheritdoc/>
    public IVisionLanguagePolicy CreateFrozenCopy()
    {
        var previous = get_default_dtype();
        QwenVLModel copy;
        try
        {
            set_default_dtype(Model.Text.EmbeddingWeight.dtype);
            copy = new QwenVLModel(Model.Config);
        }
        finally
        {
            set_default_dtype(previous);
        }

        return new QwenVLPolicy(copy.CopyFrom(Model), Tokenizer, Processor, Device);
    }

    /// <inheritdoc/>
    public nn.Module AdapterModel => Model;

    /// <inheritdoc/>
    public IEnumerable<Parameter> TrainableParameters() => Model.parameters().Where(p => p.requires_grad);

    /// <inheritdoc/>
    public IEnumerable<Parameter> VisionEncoderParameters() => Model.Visual.parameters();

    /// <inheritdoc/>
    public void SetTraining(bool training) => Model.train(training);

    /// <inheritdoc/>
    public void Dispose()
    {
        _structural.Dispose();
        Model.Dispose();
    }

    private int RequireToken(string token, int configId)
    {
        if (!Tokenizer.TryGetTokenId(token, out int id))
        {
            throw new ArgumentException($"The tokenizer has no {token} token.", nameof(Tokenizer));
        }

        return id == configId
            ? id
            : throw new ArgumentException($"The tokenizer's {token} is id {id} but the config says {configId}.", nameof(Tokenizer));
    }

    /// <summary>
    /// Logits over the ids the tokenizer can produce: the embedding table's padding rows (Qwen2.5-VL: 151,936 rows for
    /// 151,665 tokens) are never sampled, since a completion must decode and re-encode to the same ids; nor are the
    /// tokens that mark image slots (<c>&lt;|vision_start|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, <c>&lt;|video_pad|&gt;</c>). Scoring
    /// (<see cref="CompletionLogits"/>) keeps the full table, as the reference implementation does.
    /// </summary>
    private Tensor Sampleable(Tensor logits)
    {
        var full = logits.to_type(ScalarType.Float32);
        var reachable = full.shape[^1] > Tokenizer.VocabSize ? full.narrow(-1, 0, Tokenizer.VocabSize) : full;
        return reachable.index_fill(-1, _structural.to(reachable.device), FixedScalars.NegativeInfinity);
    }

    private static IReadOnlyList<int[]> Grids(ImageBatch images) =>
        images.Images.Select(i => i.Grid.Count == 3 ? i.Grid.ToArray() : throw new ArgumentException("A Qwen2.5-VL image batch needs (t, h, w) grids; prepare images with this policy's ImageProcessor.", nameof(images))).ToList();

    private (Tensor Patches, IReadOnlyList<int[]> Grids) RepeatImages(ImageBatch images, int times)
    {
        var grids = Grids(images);
        var slices = new List<Tensor>();
        var repeated = new List<int[]>();
        long offset = 0;
        var values = images.Values.to(Device);
        foreach (var grid in grids)
        {
            long count = (long)grid[0] * grid[1] * grid[2];
            var slice = values.narrow(0, offset, count);
            for (int k = 0; k < times; k++)
            {
                slices.Add(slice);
                repeated.Add(grid);
            }

            offset += count;
        }

        return (cat(slices, 0), repeated);
    }

    private TokenBatch Expand(ImageBatch images, TokenBatch prompts)
    {
        if (images.Count != prompts.Rows)
        {
            throw new ArgumentException($"{images.Count} images for {prompts.Rows} prompts; Qwen2.5-VL prompts take one image each.", nameof(images));
        }

        long[] ids = prompts.Ids.cpu().data<long>().ToArray();
        long[] mask = prompts.Mask.cpu().data<long>().ToArray();
        int length = (int)prompts.Length;
        var rows = new List<IReadOnlyList<int>>();
        for (int r = 0; r < prompts.Rows; r++)
        {
            var row = new List<int>();
            for (int i = 0; i < length; i++)
            {
                if (mask[(r * length) + i] != 0)
                {
                    row.Add((int)ids[(r * length) + i]);
                }
            }

            rows.Add(ExpandImageTokens(row, images.TokenCounts[r]));
        }

        return TokenBatch.LeftPadded(rows, PadId, Device);
    }
}

/// <summary>Options for loading a Qwen2.5-VL folder.</summary>
public sealed class QwenLoadOptions
{
    /// <summary>
    /// The dtype of the weights in memory (default float32; bfloat16 halves memory on GPUs). Checkpoint tensors of other
    /// dtypes are converted while loading.
    /// </summary>
    public ScalarType Dtype { get; set; } = ScalarType.Float32;

    /// <summary>
    /// A cap on the pixels an image is resized to, below the checkpoint's <c>max_pixels</c> (null = no extra cap). The
    /// Anatomy-R1 training script capped images at 602,112 pixels (768 image tokens).
    /// </summary>
    public long? MaxPixels { get; set; }
}
