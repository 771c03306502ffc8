using System.Text.Json;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// <see cref="IVisionLanguagePolicy"/> over <see cref="TinyVlm"/> and <see cref="VlmTokenizer"/>. Saved as a folder
/// with <c>config.json</c>, <c>model.safetensors</c> and <c>vocab.txt</c>.
/// </summary>
public sealed class TinyVlmPolicy : IVisionLanguagePolicy
{
    /// <summary>File name of the weights.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>File name of the configuration.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>File name of the vocabulary.</summary>
    public const string VocabularyFile = "vocab.txt";

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
    }

    /// <summary>The model.</summary>
    public TinyVlm Model { get; }

    /// <summary>The tokenizer.</summary>
    public VlmTokenizer Tokenizer { get; }

    /// <summary>The configuration.</summary>
    public VlmConfig Config => Model.Config;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public int ImageSize => Config.ImageSize;

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
        var config = VlmConfig.Preset(preset, tokenizer.VocabSize);
        return new TinyVlmPolicy(new TinyVlm(config), tokenizer, TorchRuntime.ResolveDevice(device));
    }

    /// <summary>Loads a policy folder strictly (every tensor present with its shape, nothing extra).</summary>
    /// <param name="folder">The folder written by <see cref="Save"/>.</param>
    /// <param name="device">Device specification.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="InvalidDataException">A file is missing or does not match the configuration; the message names it.</exception>
    public static TinyVlmPolicy Load(string folder, string device = "auto")
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
        var model = new TinyVlm(config);
        string weights = Path.Combine(folder, WeightsFile);
        SafeTensors.LoadInto(model, SafeTensors.Deserialize(File.ReadAllBytes(weights), weights), weights);
        return new TinyVlmPolicy(model, tokenizer, TorchRuntime.ResolveDevice(device));
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
    public TokenBatch EncodePrompts(IReadOnlyList<string> prompts) =>
        TokenBatch.LeftPadded(prompts.Select(p => (IReadOnlyList<int>)Tokenizer.Encode(p).Where(id => id != _imageId).ToList()).ToList(), PadId, Device);

    /// <inheritdoc />
    public TokenBatch EncodeCompletions(IReadOnlyList<string> completions) =>
        TokenBatch.RightPadded(completions.Select(c => (IReadOnlyList<int>)Tokenizer.Encode(c).Append(EosId).ToList()).ToList(), PadId, Device);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);

    /// <inheritdoc />
    public Tensor CompletionLogits(Tensor pixels, TokenBatch prompts, TokenBatch completions)
    {
        using var scope = NewDisposeScope();
        var ids = cat(new[] { prompts.Ids, completions.Ids }, 1);
        var mask = cat(new[] { prompts.Mask, completions.Mask }, 1);
        var logits = Model.Prefill(pixels, ids, mask);
        return logits.narrow(1, prompts.Length - 1, completions.Length).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor CompletionLogProbs(Tensor pixels, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var logits = CompletionLogits(pixels, prompts, completions);
        if (temperature > 0 && temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var logProbs = logits.log_softmax(-1).gather(2, completions.Ids.unsqueeze(2)).squeeze(2);
        return (logProbs * completions.Mask.to_type(logProbs.dtype)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public GenerationResult Generate(Tensor pixels, TokenBatch prompts, GenerationOptions options) => GenerateCore(pixels, prompts, options, null);

    /// <summary>
    /// Generates one completion for one prompt and reports each new token id as soon as it is chosen (for streaming);
    /// the tokens are exactly those <see cref="Generate(Tensor, TokenBatch, GenerationOptions)"/> draws with the same
    /// options and seed.
    /// </summary>
    /// <param name="pixels">One image [1, 3, S, S].</param>
    /// <param name="prompt">One prompt (a batch of one).</param>
    /// <param name="options">Sampling settings; <see cref="GenerationOptions.NumReturnSequences"/> must be 1.</param>
    /// <param name="onToken">Called on the generating thread with each new token id, the end token included; return
    /// false to stop early (the result is then marked truncated unless that token was the end token).</param>
    /// <returns>The completion.</returns>
    /// <exception cref="ArgumentException">More than one prompt or return sequence.</exception>
    public GenerationResult Generate(Tensor pixels, TokenBatch prompt, GenerationOptions options, Func<int, bool> onToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onToken);
        if (prompt.Rows != 1 || options.NumReturnSequences != 1)
        {
            throw new ArgumentException($"Token callbacks need one prompt and one return sequence (got {prompt.Rows} prompts, {options.NumReturnSequences} sequences).", nameof(options));
        }

        return GenerateCore(pixels, prompt, options, onToken);
    }

    private GenerationResult GenerateCore(Tensor pixels, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NumReturnSequences < 1 || options.MaxNewTokens < 1)
        {
            throw new ArgumentException("NumReturnSequences and MaxNewTokens must be at least 1.", nameof(options));
        }

        if (Config.ImageTokens + prompts.Length + options.MaxNewTokens > Config.MaxSequence)
        {
            throw new ArgumentException($"Prompt ({prompts.Length} tokens) + {options.MaxNewTokens} new tokens exceed the model's {Config.MaxSequence - Config.ImageTokens} text positions.");
        }

        using var quiet = GcQuietRegion.Enter();
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        int g = options.NumReturnSequences;
        using var generator = options.Seed is long seed ? new Generator((ulong)seed, Device) : null;
        var inputPixels = pixels;
        var ids = prompts.Ids;
        var mask = prompts.Mask;
        if (!options.SharePrefix && g > 1)
        {
            inputPixels = pixels.repeat_interleave(g, 0);
            ids = ids.repeat_interleave(g, 0);
            mask = mask.repeat_interleave(g, 0);
        }

        using var cache = new KvCache(Config.Layers);
        var logits = Model.Prefill(inputPixels, ids, mask, cache).select(1, -1);
        if (options.SharePrefix && g > 1)
        {
            logits = logits.repeat_interleave(g, 0);
            cache.Expand(g);
        }

        long n = logits.shape[0];
        var tokens = new List<Tensor>();
        var logProbs = new List<Tensor>();
        var masks = new List<Tensor>();
        var finished = zeros(n, dtype: ScalarType.Bool, device: Device);
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var (next, lp) = Sample(logits, options, generator);
            next = next.masked_fill(finished, PadId);
            lp = lp.masked_fill(finished, 0f);
            var alive = finished.logical_not();
            tokens.Add(next.MoveToOuterDisposeScope());
            logProbs.Add(lp.MoveToOuterDisposeScope());
            masks.Add(alive.to_type(int64).MoveToOuterDisposeScope());
            var nowFinished = (finished | next.eq(EosId)).MoveToOuterDisposeScope();
            finished = nowFinished;
            if (onToken is not null && !onToken((int)next.item<long>()))
            {
                break;
            }

            if (finished.all().item<bool>())
            {
                break;
            }

            logits = Model.Decode(next.unsqueeze(1), cache).select(1, 0).MoveToOuterDisposeScope();
        }

        var idTensor = stack(tokens, 1);
        var maskTensor = stack(masks, 1);
        var lpTensor = stack(logProbs, 1);
        var truncated = finished.logical_not().cpu().data<bool>().ToArray();
        long[] flat = idTensor.cpu().data<long>().ToArray();
        int width = (int)idTensor.shape[1];
        var texts = Enumerable.Range(0, (int)n).Select(r => Decode(flat.Skip(r * width).Take(width).Select(v => (int)v))).ToList();
        var result = new GenerationResult(
            new TokenBatch(idTensor.MoveToOuterDisposeScope(), maskTensor.MoveToOuterDisposeScope()),
            lpTensor.MoveToOuterDisposeScope(), truncated, texts);
        return result;
    }

    private static (Tensor Token, Tensor LogProb) Sample(Tensor logits, GenerationOptions options, Generator? generator)
    {
        if (options.Temperature <= 0)
        {
            var greedy = logits.argmax(-1);
            var lpGreedy = logits.log_softmax(-1).gather(1, greedy.unsqueeze(1)).squeeze(1);
            return (greedy, lpGreedy);
        }

        var scaled = logits / options.Temperature;
        var logProbs = scaled.log_softmax(-1);
        var filtered = scaled;
        if (options.TopK > 0 && options.TopK < scaled.shape[1])
        {
            var (top, _) = scaled.topk(options.TopK, -1, true, true);
            filtered = filtered.masked_fill(filtered < top.narrow(1, options.TopK - 1, 1), float.NegativeInfinity);
        }

        if (options.TopP < 1.0)
        {
            var (sorted, order) = filtered.sort(-1, true, false);
            var probs = sorted.softmax(-1);
            var remove = (probs.cumsum(-1) - probs) > options.TopP;
            sorted = sorted.masked_fill(remove, float.NegativeInfinity);
            filtered = full_like(filtered, float.NegativeInfinity).scatter(-1, order, sorted);
        }

        var token = filtered.softmax(-1).multinomial(1, generator: generator).squeeze(1);
        return (token, logProbs.gather(1, token.unsqueeze(1)).squeeze(1));
    }

    /// <inheritdoc />
    public IVisionLanguagePolicy CreateFrozenCopy()
    {
        var copy = new TinyVlm(Config);
        var state = Model.state_dict();
        using (no_grad())
        {
            foreach (var (name, target) in copy.state_dict())
            {
                target.copy_(state[name]);
            }
        }

        foreach (var p in copy.parameters())
        {
            p.requires_grad = false;
        }

        copy.eval();
        return new TinyVlmPolicy(copy, Tokenizer, Device);
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
