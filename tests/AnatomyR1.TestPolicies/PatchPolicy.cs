using System.Text.Json;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.Testing.Policies;

/// <summary>
/// A second <see cref="IVisionLanguagePolicy"/> for tests: <see cref="PatchLm"/> with a character tokenizer, its own
/// prompt wording, and images that yield different numbers of tokens. Each row's sequence is
/// [left padding][image patches][prompt] so that rows with different image and prompt lengths batch together.
/// </summary>
public sealed class PatchPolicy : IVisionLanguagePolicy
{
    /// <summary>The model type in <c>config.json</c>.</summary>
    public const string ModelTypeName = "anatomyr1-test-patch-lm";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
    private readonly CharTokenizer _tokenizer;

    /// <summary>Wraps a model.</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="device">The device.</param>
    public PatchPolicy(PatchLm model, CharTokenizer tokenizer, Device device)
    {
        Model = model;
        _tokenizer = tokenizer;
        Device = device;
        model.to(device);
        ImageProcessor = new PatchImageProcessor(model.Config.Patch, model.Config.MaxSide);
    }

    /// <summary>The model.</summary>
    public PatchLm Model { get; }

    /// <inheritdoc />
    public string ModelType => ModelTypeName;

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public IImageProcessor ImageProcessor { get; }

    /// <inheritdoc />
    public IPolicyTokenizer Tokenizer => _tokenizer;

    /// <inheritdoc />
    public int MaxSequenceLength => Model.Config.MaxSequence;

    /// <inheritdoc />
    public int EosId => _tokenizer.EosId;

    /// <inheritdoc />
    public int PadId => _tokenizer.PadId;

    /// <summary>Registers the family and its tokenizer (idempotent).</summary>
    public static void Register()
    {
        PolicyRegistry.Register(new PolicyFamily(ModelTypeName, Load) { Presets = new[] { "test-patch" }, Create = (_, device, seed) => Create(device, seed) });
        PolicyRegistry.RegisterTokenizer(CharTokenizer.KindName, CharTokenizer.Load);
    }

    /// <summary>A randomly initialised policy.</summary>
    /// <param name="device">The device.</param>
    /// <param name="seed">Initialisation seed.</param>
    /// <returns>The policy.</returns>
    public static PatchPolicy Create(Device? device = null, long seed = 0)
    {
        TorchRuntime.EnsureThreads();
        TorchRuntime.Seed(seed);
        var tokenizer = CharTokenizer.Default;
        return new PatchPolicy(new PatchLm(new PatchLmConfig { VocabSize = tokenizer.VocabSize }), tokenizer, device ?? CPU);
    }

    /// <summary>Loads a saved policy folder.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="device">The device.</param>
    /// <returns>The policy.</returns>
    public static PatchPolicy Load(string folder, Device device)
    {
        var config = JsonSerializer.Deserialize<PatchLmConfig>(File.ReadAllText(Path.Combine(folder, PolicyRegistry.ConfigFile)), Json)
            ?? throw new InvalidDataException($"{folder}: empty config.json.");
        var model = new PatchLm(config);
        string weights = Path.Combine(folder, "model.safetensors");
        SafeTensors.LoadInto(model, SafeTensors.Deserialize(File.ReadAllBytes(weights), weights), weights);
        return new PatchPolicy(model, CharTokenizer.Load(folder), device);
    }

    /// <inheritdoc />
    public void Save(string folder) => AtomicFile.WriteFolder(folder, staging =>
    {
        var config = JsonSerializer.SerializeToNode(Model.Config, Json)!.AsObject();
        config["model_type"] = ModelTypeName;
        File.WriteAllText(Path.Combine(staging, PolicyRegistry.ConfigFile), config.ToJsonString(Json));
        _tokenizer.Save(staging);
        File.WriteAllBytes(Path.Combine(staging, "model.safetensors"), SafeTensors.Serialize(Model.state_dict()));
    });

    /// <inheritdoc />
    public string FormatPrompt(string question, IReadOnlyList<string> options) =>
        $"Q: {question.Trim()}\n" + string.Join("\n", options.Select((o, i) => $"({(char)('A' + i)}) {o}")) + "\nReply with <answer>letter</answer>.";

    /// <inheritdoc />
    public TokenBatch EncodePrompts(IReadOnlyList<string> prompts) =>
        TokenBatch.LeftPadded(prompts.Select(p => _tokenizer.Encode(p)).ToList(), PadId, Device);

    /// <inheritdoc />
    public TokenBatch EncodeCompletions(IReadOnlyList<string> completions) =>
        TokenBatch.RightPadded(completions.Select(c => (IReadOnlyList<int>)_tokenizer.Encode(c).Append(EosId).ToList()).ToList(), PadId, Device);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids);

    /// <inheritdoc />
    public Tensor CompletionLogits(ImageBatch images, TokenBatch prompts, TokenBatch completions)
    {
        using var scope = NewDisposeScope();
        var (prefix, keyMask) = Prefix(images, prompts);
        long length = prefix.shape[1], tc = completions.Length;
        if (length + tc > Model.Config.MaxSequence)
        {
            throw new ArgumentException($"{length} prefix and {tc} completion positions exceed the model's {Model.Config.MaxSequence}.");
        }

        var x = cat(new[] { prefix, Model.EmbedTokens(completions.Ids) }, 1);
        var mask = cat(new[] { keyMask, completions.Mask }, 1);
        var logits = Model.Forward(x, Positions(mask), Causal(mask), null);
        return logits.narrow(1, length - 1, tc).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor CompletionLogProbs(ImageBatch images, TokenBatch prompts, TokenBatch completions, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var logits = CompletionLogits(images, prompts, completions);
        if (temperature > 0 && temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var lp = logits.log_softmax(-1).gather(2, completions.Ids.unsqueeze(2)).squeeze(2);
        return (lp * completions.Mask.to_type(lp.dtype)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public GenerationResult Generate(ImageBatch images, TokenBatch prompts, GenerationOptions options, Func<int, bool>? onToken = null)
    {
        Decoding.Validate(options, prompts.Rows, onToken);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int g = options.NumReturnSequences;
        ImageBatch? repeated = null;
        try
        {
            var inputImages = images;
            var inputPrompts = prompts;
            if (!options.SharePrefix && g > 1)
            {
                repeated = ImageProcessor.Collate(images.Images.SelectMany(i => Enumerable.Repeat(i, g)).ToList(), Device);
                inputImages = repeated;
                inputPrompts = prompts.RepeatRows(g);
            }

            var (prefix, keyMask) = Prefix(inputImages, inputPrompts);
            if (prefix.shape[1] + options.MaxNewTokens > Model.Config.MaxSequence)
            {
                throw new ArgumentException($"{prefix.shape[1]} prefix positions + {options.MaxNewTokens} new tokens exceed the model's {Model.Config.MaxSequence}.");
            }

            using var cache = new KvCache(Model.Config.Layers);
            var positions = Positions(keyMask);
            var logits = Model.Forward(prefix, positions, Causal(keyMask), cache).select(1, -1);
            cache.SetState(keyMask, positions.select(1, -1) + 1);
            if (options.SharePrefix && g > 1)
            {
                logits = logits.repeat_interleave(g, 0);
                cache.Expand(g);
            }

            var result = Decoding.Run(this, logits, next =>
            {
                long n = next.shape[0];
                var mask = cat(new[] { cache.KeyMask!, ones(n, 1, dtype: ScalarType.Int64, device: Device) }, 1);
                var pos = cache.NextPosition!.unsqueeze(1);
                var additive = Additive(mask.to_type(ScalarType.Bool).unsqueeze(1));
                var step = Model.Forward(Model.EmbedTokens(next), pos, additive, cache).select(1, 0);
                cache.SetState(mask, pos.squeeze(1) + 1);
                return step;
            }, options, onToken);
            return result.MoveToOuterDisposeScope();
        }
        finally
        {
            repeated?.Dispose();
        }
    }

    /// <inheritdoc />
    public Tensor InputEmbeddings() => Model.TokenEmbeddingWeight.detach().cpu().clone();

    /// <inheritdoc />
    public IVisionLanguagePolicy CreateFrozenCopy() => new PatchPolicy(new PatchLm(Model.Config).CopyFrom(Model), _tokenizer, Device);

    /// <inheritdoc />
    public IEnumerable<Parameter> TrainableParameters() => Model.parameters().Where(p => p.requires_grad);

    /// <inheritdoc />
    public IEnumerable<Parameter> VisionEncoderParameters() => Model.VisionParameters();

    /// <inheritdoc />
    public void SetTraining(bool training) => Model.train(training);

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();

    /// <summary>[left padding][patches][prompt] embeddings [B, L, D] and their key mask [B, L].</summary>
    private (Tensor X, Tensor KeyMask) Prefix(ImageBatch images, TokenBatch prompts)
    {
        int b = (int)prompts.Rows, t = (int)prompts.Length;
        if (images.Count != b)
        {
            throw new ArgumentException($"{images.Count} images for {b} prompt rows.");
        }

        long[] promptMask = prompts.Mask.cpu().data<long>().ToArray();
        var counts = images.TokenCounts;
        int totalPatches = counts.Sum();
        var realPrompt = Enumerable.Range(0, b).Select(r => Enumerable.Range(0, t).Where(c => promptMask[(r * t) + c] != 0).ToList()).ToList();
        int length = Enumerable.Range(0, b).Max(r => counts[r] + realPrompt[r].Count);
        var index = new long[b * length];
        int offset = 0;
        for (int r = 0; r < b; r++)
        {
            int start = length - counts[r] - realPrompt[r].Count;
            for (int j = 0; j < counts[r]; j++)
            {
                index[(r * length) + start + j] = 1 + offset + j;
            }

            for (int j = 0; j < realPrompt[r].Count; j++)
            {
                index[(r * length) + start + counts[r] + j] = 1 + totalPatches + (r * t) + realPrompt[r][j];
            }

            offset += counts[r];
        }

        var grids = images.Images.Select(i => (i.Grid[0], i.Grid[1])).ToList();
        var patches = Model.EmbedPatches(images.Values, grids);
        var text = Model.EmbedTokens(prompts.Ids).reshape(b * t, -1);
        var table = cat(new[] { zeros(1, patches.shape[1], device: Device), patches, text }, 0);
        var idx = tensor(index, new long[] { b, length }, device: Device);
        var x = table.index_select(0, idx.view(-1)).view(b, length, -1);
        return (x, idx.ne(0).to_type(ScalarType.Int64));
    }

    private static Tensor Positions(Tensor mask) => (mask.cumsum(1) - 1).clamp_min(0);

    private static Tensor Causal(Tensor keyMask)
    {
        long l = keyMask.shape[1];
        var causal = ones(l, l, dtype: ScalarType.Bool, device: keyMask.device).tril();
        return Additive(causal.unsqueeze(0) & keyMask.to_type(ScalarType.Bool).unsqueeze(1));
    }

    private static Tensor Additive(Tensor allowed) =>
        zeros(allowed.shape, dtype: ScalarType.Float32, device: allowed.device).masked_fill(allowed.logical_not(), -1e9f).unsqueeze(1);
}
