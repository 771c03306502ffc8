using System.Text.Json;
using AnatomyR1.Data;
using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Qwen;

/// <summary>Qwen2.5-VL through the policy seam: registry, prompts, generation, scoring, saving and GRPO.</summary>
[Collection(TorchCollection.Name)]
public sealed class QwenPolicyTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public QwenPolicyTests(SmallSyntheticData data) => _data = data;

    private static string Folder(string name) => Path.Combine(QwenReferenceTests.FixtureFolder, name);

    private static QwenVLPolicy Load(string name = "tiny") => (QwenVLPolicy)PolicyRegistry.Load(Folder(name), "cpu");

    private static ImageBatch Images(IVisionLanguagePolicy policy, params string[] files) =>
        policy.ImageProcessor.Collate(files.Select(f => policy.ImageProcessor.Prepare(PolicyImage.FromFile(Path.Combine(QwenReferenceTests.FixtureFolder, "images", f)))).ToList(), policy.Device);

    [Fact]
    public void Registry_dispatches_both_layouts_and_scores_them_alike()
    {
        using var flat = Load("tiny");
        using var nested = Load("tiny-sharded");
        Assert.Equal(QwenVLConfig.ModelTypeName, PolicyRegistry.ModelTypeOf(Folder("tiny-sharded")));
        Assert.Equal(1002, flat.EosId);
        Assert.Equal(1000, flat.PadId);
        string prompt = flat.FormatPrompt("Which anatomy is above the grasper?", new[] { "Liver", "Gut" });
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Which anatomy", prompt, StringComparison.Ordinal);
        Assert.EndsWith("<|im_end|>\n<|im_start|>assistant\n", prompt, StringComparison.Ordinal);
        using var images = Images(flat, "img_84x112.png");
        using var prompts = flat.EncodePrompts(new[] { prompt });
        using var completions = flat.EncodeCompletions(new[] { "<think> up </think> <answer>A</answer>" });
        using var a = flat.CompletionLogProbs(images, prompts, completions);
        using var b = nested.CompletionLogProbs(images, prompts, completions);
        Assert.True(allclose(a, b, 1e-6, 1e-6));
        Assert.Equal(1002, completions.Ids[0, -1].item<long>());
    }

    [Fact]
    public void Prompts_need_exactly_one_image_placeholder()
    {
        using var policy = Load();
        var ex = Assert.Throws<ArgumentException>(() => policy.EncodePrompts(new[] { "no image here" }));
        Assert.Contains("<|image_pad|>", ex.Message, StringComparison.Ordinal);
        var expanded = policy.ExpandImageTokens(new[] { 1001, 1009, 1012, 1010, 5 }, 3);
        Assert.Equal(new[] { 1001, 1009, 1012, 1012, 1012, 1010, 5 }, expanded);
    }

    [Fact]
    public void Generation_with_mixed_image_sizes_shared_prefix_and_streaming_agree()
    {
        using var policy = Load();
        string[] files = { "img_56x56.png", "img_224x280.png" };
        using var images = Images(policy, files);
        Assert.Equal(new[] { 4, 80 }, images.TokenCounts);
        var texts = new[] { "What is left of the hook?", "Which organ is at the top?" }
            .Select(q => policy.FormatPrompt(q, new[] { "Liver", "Gut", "Omentum" })).ToList();
        using var prompts = policy.EncodePrompts(texts);
        var options = new GenerationOptions { NumReturnSequences = 3, MaxNewTokens = 6, Seed = 11 };
        using var shared = policy.Generate(images, prompts, options);
        using var separate = policy.Generate(images, prompts, options with { SharePrefix = false });
        Assert.Equal(6, shared.Completions.Rows);
        Assert.True(shared.Completions.Ids.eq(separate.Completions.Ids).all().item<bool>());
        Assert.True(allclose(shared.LogProbs, separate.LogProbs, 1e-4, 1e-4));

        // Generation log-probabilities equal the re-scored logits normalised over the ids that can be sampled (the
        // tokenizer's ids without the image-slot markers), row by row with each row's own image.
        using var logits = policy.CompletionLogits(Repeat(policy, files, 3), prompts.RepeatRows(3), shared.Completions);
        using var sampleable = logits.narrow(-1, 0, policy.Tokenizer.VocabSize).index_fill(-1, tensor(new long[] { 1009, 1012, 1013 }), float.NegativeInfinity);
        using var rescored = sampleable.log_softmax(-1).gather(2, shared.Completions.Ids.unsqueeze(2)).squeeze(2) * shared.Completions.Mask;
        Assert.True(allclose(rescored, shared.LogProbs * shared.Completions.Mask, 1e-4, 1e-4));

        // Streaming one prompt gives the greedy tokens of the batched call.
        using var one = Images(policy, files[1]);
        using var onePrompt = policy.EncodePrompts(new[] { texts[1] });
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = 6 };
        using var batched = policy.Generate(one, onePrompt, greedy);
        var streamed = new List<int>();
        using var _ = policy.Generate(one, onePrompt, greedy, t => { streamed.Add(t); return true; });
        Assert.Equal(batched.Completions.Ids[0].data<long>().Take(streamed.Count).Select(v => (int)v), streamed);
        Assert.All(batched.Completions.Ids.data<long>(), id => Assert.True(id < policy.Tokenizer.VocabSize));
    }

    private static ImageBatch Repeat(IVisionLanguagePolicy policy, string[] files, int times) =>
        Images(policy, files.SelectMany(f => Enumerable.Repeat(f, times)).ToArray());

    [Fact]
    public void Save_and_load_round_trip_and_frozen_copy_score_alike()
    {
        using var policy = Load("tiny-sharded");
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            policy.Save(folder);
            foreach (string file in new[] { "config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json" })
            {
                Assert.True(File.Exists(Path.Combine(folder, file)), file);
            }

            using var loaded = PolicyRegistry.Load(folder, "cpu");
            using var frozen = policy.CreateFrozenCopy();
            using var images = Images(policy, "img_56x56.png");
            using var prompts = policy.EncodePrompts(new[] { policy.FormatPrompt("Where is the liver?", new[] { "Left", "Right" }) });
            using var completions = policy.EncodeCompletions(new[] { "<answer>B</answer>" });
            using var a = policy.CompletionLogProbs(images, prompts, completions);
            using var b = loaded.CompletionLogProbs(images, prompts, completions);
            using var c = frozen.CompletionLogProbs(images, prompts, completions);
            Assert.True(a.eq(b).all().item<bool>());
            Assert.True(a.eq(c).all().item<bool>());
            Assert.DoesNotContain(frozen.TrainableParameters(), p => p.requires_grad);
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
    public void A_config_that_does_not_fit_the_weights_is_refused_before_allocation()
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            foreach (string file in Directory.GetFiles(Folder("tiny")))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            string config = File.ReadAllText(Path.Combine(folder, "config.json")).Replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 200", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(folder, "config.json"), config);
            var ex = Assert.Throws<InvalidDataException>(() => PolicyRegistry.Load(folder, "cpu"));
            Assert.Contains("config.json", ex.Message, StringComparison.Ordinal);
            Assert.Contains("weights", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_tiny_preset_sees_a_scene_as_three_by_three_tokens_and_round_trips()
    {
        Assert.Contains(QwenPresets.Tiny, PolicyRegistry.Presets);
        using var policy = (QwenVLPolicy)PolicyRegistry.Create(QwenPresets.Tiny, "cpu", seed: 3);
        Assert.Equal(QwenPresets.TinyConfig().ParameterCount, policy.Model.parameters().Sum(p => p.numel()));
        Assert.Equal(1022, policy.Tokenizer.VocabSize);
        var sample = _data.Train[0];
        var prepared = policy.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath));
        Assert.Equal(new[] { 1, 6, 6 }, prepared.Grid);
        Assert.Equal(9, prepared.TokenCount);

        // Same seed, same weights; the saved folder loads through the registry and scores alike.
        using var again = (QwenVLPolicy)PolicyRegistry.Create(QwenPresets.Tiny, "cpu", seed: 3);
        Assert.True(policy.Model.parameters().Zip(again.Model.parameters(), (a, b) => a.eq(b).all().item<bool>()).All(x => x));
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-preset-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            policy.Save(folder);
            using var loaded = PolicyRegistry.Load(folder, "cpu");
            using var images = policy.ImageProcessor.Collate(new[] { prepared }, policy.Device);
            using var loadedImages = loaded.ImageProcessor.Collate(new[] { loaded.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath)) }, loaded.Device);
            Assert.Equal(9, loadedImages.TokenCounts[0]);
            using var prompts = policy.EncodePrompts(new[] { policy.FormatPrompt(sample.Question, sample.Options) });
            using var completions = policy.EncodeCompletions(new[] { sample.TargetCompletion });
            using var a = policy.CompletionLogProbs(images, prompts, completions);
            using var b = loaded.CompletionLogProbs(loadedImages, prompts, completions);
            Assert.True(a.eq(b).all().item<bool>());
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
    public void Bfloat16_weights_score_close_to_float32_and_generate()
    {
        using var f32 = Load();
        using var bf16 = QwenVLPolicy.Load(Folder("tiny"), "cpu", new QwenLoadOptions { Dtype = ScalarType.BFloat16 });
        Assert.All(bf16.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var images = Images(f32, "img_84x112.png");
        using var prompts = f32.EncodePrompts(new[] { f32.FormatPrompt("Which anatomy is above the grasper?", new[] { "Liver", "Gut" }) });
        using var completions = f32.EncodeCompletions(new[] { "<think> up </think> <answer>A</answer>" });
        using var a = f32.CompletionLogProbs(images, prompts, completions);
        using var b = bf16.CompletionLogProbs(images, prompts, completions);
        Assert.Equal(ScalarType.Float32, b.dtype);

        // The checkpoint is BF16, so the weights are identical; only the arithmetic is coarser.
        double worst = (a - b).abs().max().item<float>();
        Assert.True(worst < 0.5, $"max |Δ log p| = {worst}");
        Assert.True(worst > 0, "bfloat16 arithmetic should differ from float32 somewhere");
        using var generated = bf16.Generate(images, prompts, new GenerationOptions { MaxNewTokens = 4, Temperature = 0 });
        Assert.Equal(1, generated.Completions.Rows);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Grpo_on_qwen_raises_a_reward_it_can_reach()
    {
        // The reward pays the share of digits in the completion text: reachable from the random tiny model.
        using var policy = Load();
        var examples = _data.Train.Take(8).Select(s => new GrpoExample(s)).ToList();
        var reward = new DelegateRewardFunction("digits", b => b.Completions.Select(c => (float?)(c.Length == 0 ? 0f : c.Count(char.IsAsciiDigit) / (float)c.Length)).ToList());
        var options = new GrpoOptions
        {
            Steps = 30,
            BatchSize = 4,
            NumGenerations = 8,
            LearningRate = 1e-2,
            WarmupSteps = 0,
            Beta = 0,
            Seed = 1,
            Rewards = new WeightedRewards().Add(reward),
            Generation = new GenerationOptions { MaxNewTokens = 8 },
        };
        using var trainer = new GrpoSession(policy, examples, options);
        var history = trainer.Train();
        double first = history.Take(5).Average(m => m["reward"]);
        double last = history.Skip(25).Average(m => m["reward"]);
        Assert.True(last > first + 0.1, $"reward {first:F3} → {last:F3}");
    }
}
