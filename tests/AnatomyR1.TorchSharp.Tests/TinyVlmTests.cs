using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Models.Tiny;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

[Collection(TorchCollection.Name)]
public sealed class TinyVlmTests
{
    private static readonly VlmTokenizer Tokenizer = DefaultVocabulary.CreateTokenizer();

    private static TinyVlmPolicy NewPolicy(long seed = 1) => TinyVlmPolicy.Create(Tokenizer, device: "cpu", seed: seed);

    private static Tensor Pixels(int batch, int size = 64, long seed = 3)
    {
        TorchRuntime.Seed(seed);
        return rand(batch, 3, size, size);
    }

    [Theory]
    [InlineData("\"width\": 128", "\"width\": 8000", "describes at least")]
    [InlineData("\"layers\": 4", "\"layers\": 200", "describes at least")]
    [InlineData("\"mlp_hidden\": 352", "\"mlp_hidden\": 99999999", "exceeds")]
    public void A_config_that_does_not_fit_the_weights_is_refused_before_allocation(string from, string to, string expected)
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-tiny-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using (var policy = NewPolicy())
            {
                policy.Save(folder);
            }

            string configPath = Path.Combine(folder, "config.json");
            string json = File.ReadAllText(configPath);
            Assert.Contains(from, json, StringComparison.Ordinal);
            File.WriteAllText(configPath, json.Replace(from, to, StringComparison.Ordinal));
            var ex = Assert.Throws<InvalidDataException>(() => PolicyRegistry.Load(folder, "cpu"));
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
            Assert.Contains("config.json", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("tiny", 902_576L)]
    [InlineData("small", 2_825_024L)]
    public void ShapesAndSizePerPreset(string preset, long parameters)
    {
        using var policy = TinyVlmPolicy.Create(Tokenizer, preset, "cpu", 1);
        Assert.Equal(parameters, policy.ParameterCount);
        Assert.Equal(parameters, policy.TrainableParameterCount());
        using var scope = NewDisposeScope();
        using var prompts = policy.EncodePrompts(new[] { "What is the red top-mid anatomy?", "What anatomy is at the centre of the frame ?" });
        var logits = policy.Model.Prefill(Pixels(2), prompts.Ids, prompts.Mask);
        Assert.Equal(new long[] { 2, prompts.Length, Tokenizer.VocabSize }, logits.shape);
        Assert.False(logits.isnan().any().item<bool>());
    }

    [Fact]
    public void AppendingTokensNeverChangesEarlierLogits()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(1);
        using var shortPrompt = policy.EncodePrompts(new[] { "What is the red top-mid anatomy?" });
        using var longPrompt = policy.EncodePrompts(new[] { "What is the red top-mid anatomy? <think> the top" });
        var a = policy.Model.Prefill(pixels, shortPrompt.Ids, shortPrompt.Mask);
        var b = policy.Model.Prefill(pixels, longPrompt.Ids, longPrompt.Mask).narrow(1, 0, shortPrompt.Length);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-5), $"max difference {(a - b).abs().max().item<float>()}");
    }

    [Fact]
    public void LeftPaddingDoesNotChangeARowsLogits()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(2);
        string shortText = "What is the top-left anatomy?";
        using var alone = policy.EncodePrompts(new[] { shortText });
        using var batched = policy.EncodePrompts(new[] { "What is the name of the anatomy that is both above the grasper and left of the liver anatomy?", shortText });
        var single = policy.Model.Prefill(pixels.narrow(0, 1, 1), alone.Ids, alone.Mask);
        var inBatch = policy.Model.Prefill(pixels, batched.Ids, batched.Mask).narrow(0, 1, 1).narrow(1, batched.Length - alone.Length, alone.Length);
        Assert.True(single.allclose(inBatch, rtol: 0, atol: 1e-5), $"max difference {(single - inBatch).abs().max().item<float>()}");
    }

    [Fact]
    public void KvCacheDecodingEqualsAFullForwardPass()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(2);
        using var prompts = policy.EncodePrompts(new[] { "What anatomy is at the top-right of the frame ?", "What is the red anatomy?" });
        using var completion = policy.EncodeCompletions(new[] { "<think> the top-right is liver, option a </think>", "<think> the red anatomy is gut </think>" });
        using var full = new TokenBatch(cat(new[] { prompts.Ids, completion.Ids }, 1), cat(new[] { prompts.Mask, ones_like(completion.Mask) }, 1));
        var reference = policy.Model.Prefill(pixels, full.Ids, full.Mask);

        using var cache = new KvCache(policy.Config.Layers);
        var stepLogits = new List<Tensor> { policy.Model.Prefill(pixels, prompts.Ids, prompts.Mask, cache) };
        for (int t = 0; t < completion.Length; t++)
        {
            stepLogits.Add(policy.Model.Decode(completion.Ids.narrow(1, t, 1), cache));
        }

        var incremental = cat(stepLogits, 1);
        Assert.Equal(reference.shape, incremental.shape);
        Assert.True(reference.allclose(incremental, rtol: 0, atol: 1e-5), $"max difference {(reference - incremental).abs().max().item<float>()}");
    }

    [Fact]
    public void GenerationLogProbsEqualRescoredLogProbs()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(2);
        using var prompts = policy.EncodePrompts(new[] { "What anatomy is at the top-right of the frame ?", "What is the red anatomy?" });
        foreach (var options in new[]
        {
            new GenerationOptions { NumReturnSequences = 3, MaxNewTokens = 12, Temperature = 1.0, Seed = 5 },
            new GenerationOptions { NumReturnSequences = 2, MaxNewTokens = 10, Temperature = 0.7, TopK = 20, TopP = 0.9, Seed = 6 },
        })
        {
            using var result = policy.Generate(pixels, prompts, options);
            Assert.Equal(2 * options.NumReturnSequences, result.Completions.Rows);
            using var repeated = prompts.RepeatRows(options.NumReturnSequences);
            var rescored = policy.CompletionLogProbs(pixels.repeat_interleave(options.NumReturnSequences, 0), repeated, result.Completions, options.Temperature);
            Assert.True(rescored.allclose(result.LogProbs, rtol: 0, atol: 1e-4), $"max difference {(rescored - result.LogProbs).abs().max().item<float>()}");
            Assert.True((result.LogProbs * (1 - result.Completions.Mask)).abs().sum().item<float>() == 0f);
        }
    }

    [Fact]
    public void SharedPrefixRolloutsMatchSeparatePrefills()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(2);
        using var prompts = policy.EncodePrompts(new[] { "What anatomy is at the top-right of the frame ?", "What is the name of the anatomy above the grasper?" });
        var options = new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 16, Seed = 9 };
        using var shared = policy.Generate(pixels, prompts, options);
        using var separate = policy.Generate(pixels, prompts, options with { SharePrefix = false });
        Assert.True(shared.Completions.Ids.eq(separate.Completions.Ids).all().item<bool>());
        Assert.True(shared.LogProbs.allclose(separate.LogProbs, rtol: 0, atol: 1e-4));
        Assert.Equal(shared.Texts, separate.Texts);
    }

    [Fact]
    public void SeededGenerationIsReproducibleAndGreedyIsDeterministic()
    {
        using var policy = NewPolicy();
        using var scope = NewDisposeScope();
        var pixels = Pixels(1);
        using var prompts = policy.EncodePrompts(new[] { "What is the red anatomy?" });
        using var a = policy.Generate(pixels, prompts, new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 8, Seed = 42 });
        using var b = policy.Generate(pixels, prompts, new GenerationOptions { NumReturnSequences = 4, MaxNewTokens = 8, Seed = 42 });
        Assert.Equal(a.Texts, b.Texts);
        using var g1 = policy.Generate(pixels, prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 0 });
        using var g2 = policy.Generate(pixels, prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 0 });
        Assert.Equal(g1.Texts, g2.Texts);
        Assert.All(a.Truncated.Zip(a.Completions.Mask.sum(1).data<long>().ToArray()), p => Assert.True(!p.First || p.Second == 8));
    }

    [Fact]
    public void SaveAndLoadGiveIdenticalOutputsAndLoadingIsStrict()
    {
        using var policy = NewPolicy(seed: 4);
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-policy-" + Guid.NewGuid().ToString("N"));
        try
        {
            policy.Save(folder);
            Assert.True(File.Exists(Path.Combine(folder, TinyVlmPolicy.WeightsFile)));
            using var loaded = TinyVlmPolicy.Load(folder, "cpu");
            using var scope = NewDisposeScope();
            var pixels = Pixels(2);
            using var prompts = policy.EncodePrompts(new[] { "What is the red anatomy?", "What anatomy is at the centre of the frame ?" });
            Assert.True(policy.Model.Prefill(pixels, prompts.Ids, prompts.Mask).eq(loaded.Model.Prefill(pixels, prompts.Ids, prompts.Mask)).all().item<bool>());

            // A file from a different architecture, a mis-shaped tensor and a missing tensor are each named.
            using var other = TinyVlmPolicy.Create(Tokenizer, "small", "cpu", 1);
            File.WriteAllBytes(Path.Combine(folder, TinyVlmPolicy.WeightsFile), SafeTensors.Serialize(other.Model.state_dict()));
            var unexpected = Assert.Throws<InvalidDataException>(() => TinyVlmPolicy.Load(folder, "cpu"));
            Assert.Contains("'layers.5.mlp.up_proj.weight'", unexpected.Message, StringComparison.Ordinal);

            var reshaped = policy.Model.state_dict().ToDictionary(p => p.Key, p => p.Key == "norm.weight" ? zeros(7) : p.Value);
            File.WriteAllBytes(Path.Combine(folder, TinyVlmPolicy.WeightsFile), SafeTensors.Serialize(reshaped));
            var shape = Assert.Throws<InvalidDataException>(() => TinyVlmPolicy.Load(folder, "cpu"));
            Assert.Contains("tensor 'norm.weight' has shape [7], the model expects [128]", shape.Message, StringComparison.Ordinal);

            var partial = policy.Model.state_dict().Where(p => p.Key != "norm.weight").ToDictionary(p => p.Key, p => p.Value);
            File.WriteAllBytes(Path.Combine(folder, TinyVlmPolicy.WeightsFile), SafeTensors.Serialize(partial));
            var missing = Assert.Throws<InvalidDataException>(() => TinyVlmPolicy.Load(folder, "cpu"));
            Assert.Contains("missing tensor(s) 'norm.weight'", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void StateDictKeysAreReadableNames()
    {
        using var policy = NewPolicy();
        var keys = policy.Model.state_dict().Keys.ToList();
        Assert.Contains("embed_tokens.weight", keys);
        Assert.Contains("layers.0.self_attn.q_proj.weight", keys);
        Assert.Contains("layers.3.mlp.down_proj.weight", keys);
        Assert.Contains("vision.convs.0.weight", keys);
        Assert.Contains("vision.row_embedding", keys);
        Assert.DoesNotContain(keys, k => k.Contains("rotary", StringComparison.Ordinal));
    }

    [Fact]
    public void FrozenCopyMatchesAndDoesNotTrain()
    {
        using var policy = NewPolicy();
        using var frozen = policy.CreateFrozenCopy();
        Assert.Empty(frozen.TrainableParameters());
        using var scope = NewDisposeScope();
        var pixels = Pixels(1);
        using var prompts = policy.EncodePrompts(new[] { "What is the red anatomy?" });
        using var completion = policy.EncodeCompletions(new[] { "<think> x </think> <answer>a</answer>" });
        Assert.True(policy.CompletionLogProbs(pixels, prompts, completion).allclose(((TinyVlmPolicy)frozen).CompletionLogProbs(pixels, prompts, completion), rtol: 0, atol: 1e-6));
    }
}

[Collection(TorchCollection.Name)]
public sealed class TinyVlmLimitTests
{
    [Fact]
    public void SequencesLongerThanTheModelAreRejectedWithAClearError()
    {
        using var policy = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 1);
        using var pixels = rand(1, 3, 64, 64);
        string longPrompt = string.Join(" ", Enumerable.Repeat("the liver", 200));
        using var prompts = policy.EncodePrompts(new[] { longPrompt });
        var prefill = Assert.Throws<ArgumentException>(() => policy.Model.Prefill(pixels, prompts.Ids, prompts.Mask));
        Assert.Contains("exceed the model's 256 positions", prefill.Message, StringComparison.Ordinal);
        using var shortPrompts = policy.EncodePrompts(new[] { "What is the red anatomy?" });
        var generate = Assert.Throws<ArgumentException>(() => policy.Generate(pixels, shortPrompts, new GenerationOptions { MaxNewTokens = 400 }));
        Assert.Contains("new tokens exceed", generate.Message, StringComparison.Ordinal);
    }
}
