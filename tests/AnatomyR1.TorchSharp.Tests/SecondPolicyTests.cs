using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Rewards;
using AnatomyR1.Testing.Policies;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// The policy seam, proven with a second architecture (<see cref="PatchPolicy"/>: patch tokens whose number depends
/// on the image's shape, learned positions, LayerNorm, a character tokenizer and its own prompt wording) through the
/// registry, mixed-size batches, generation, GRPO, the estimators, the transformer and S(q).
/// </summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SecondPolicyTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public SecondPolicyTests(SmallSyntheticData data)
    {
        _data = data;
        PatchPolicy.Register();
    }

    [Fact]
    public void RegistryLoadsEachFolderByItsModelTypeAndNamesUnknownTypes()
    {
        using var dir = new TempFolder();
        using (var patch = PatchPolicy.Create(seed: 1))
        {
            patch.Save(dir.Sub("patch"));
        }

        using (var loaded = PolicyRegistry.Load(dir.Sub("patch"), "cpu"))
        {
            Assert.IsType<PatchPolicy>(loaded);
            Assert.Equal(PatchPolicy.ModelTypeName, PolicyRegistry.ModelTypeOf(dir.Sub("patch")));
        }

        using (var builtIn = BuiltInPolicy.Load("cpu"))
        {
            Assert.IsType<TinyVlmPolicy>(builtIn);
            Assert.Equal(TinyVlmPolicy.ModelTypeName, builtIn.ModelType);
        }

        // A folder saved before config.json named its model type is the built-in family's.
        Directory.CreateDirectory(dir.Sub("legacy"));
        foreach (var file in Directory.GetFiles(BuiltInPolicy.Folder()))
        {
            File.Copy(file, Path.Combine(dir.Sub("legacy"), Path.GetFileName(file)));
        }

        string config = Path.Combine(dir.Sub("legacy"), "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"model_type\": \"anatomyr1-tiny-vlm\",", string.Empty, StringComparison.Ordinal));
        Assert.DoesNotContain("model_type", File.ReadAllText(config), StringComparison.Ordinal);
        using (var legacy = PolicyRegistry.Load(dir.Sub("legacy"), "cpu"))
        {
            Assert.IsType<TinyVlmPolicy>(legacy);
        }

        File.WriteAllText(Path.Combine(dir.Sub("patch"), "config.json"), "{\"model_type\": \"qwen9_vl\"}");
        var ex = Assert.Throws<InvalidDataException>(() => PolicyRegistry.Load(dir.Sub("patch"), "cpu"));
        Assert.Contains("model_type 'qwen9_vl' is not registered", ex.Message, StringComparison.Ordinal);
        Assert.Contains(PatchPolicy.ModelTypeName, ex.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => PolicyRegistry.Create("no-such-preset", "cpu"));
        using var fresh = PolicyRegistry.Create("test-patch", "cpu", seed: 2);
        Assert.IsType<PatchPolicy>(fresh);
    }

    [Fact]
    public void ImagesOfDifferentShapesGiveDifferentTokenCountsAndEachRowIsIndependentOfItsBatch()
    {
        using var policy = PatchPolicy.Create(seed: 3);
        var random = new Random(4);
        float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        var images = new[]
        {
            PolicyImage.FromFile(_data.Train[0].ImagePath),            // 64×64 → 32×32 → 4×4 patches
            PolicyImage.FromPixels(Noise(3 * 48 * 24), 48, 24),         // 48×24 → 32×16 → 2×4 patches
            PolicyImage.FromPixels(Noise(3 * 8 * 8), 8, 8),             // 8×8 stays → 1 patch
        };
        var prepared = images.Select(policy.ImageProcessor.Prepare).ToList();
        Assert.Equal(new[] { 16, 8, 1 }, prepared.Select(p => p.TokenCount));
        var prompts = new[] { "What is at the top-left?", "Which anatomy is left of the liver and above the grasper?", "Gut?" };
        var completions = new[] { "<answer>A</answer>", "<think> x </think> <answer>B</answer>", "B" };
        using var scope = NewDisposeScope();
        using var batchImages = policy.ImageProcessor.Collate(prepared, policy.Device);
        using var batchPrompts = policy.EncodePrompts(prompts);
        using var batchCompletions = policy.EncodeCompletions(completions);
        Assert.False(batchImages.Uniform);
        var together = policy.CompletionLogProbs(batchImages, batchPrompts, batchCompletions);
        for (int r = 0; r < 3; r++)
        {
            using var image = policy.ImageProcessor.Collate(new[] { prepared[r] }, policy.Device);
            using var prompt = policy.EncodePrompts(new[] { prompts[r] });
            using var completion = policy.EncodeCompletions(new[] { completions[r] });
            var alone = policy.CompletionLogProbs(image, prompt, completion);
            long length = alone.shape[1];
            Assert.True(alone.allclose(together[r].narrow(0, 0, length).unsqueeze(0), rtol: 0, atol: 1e-5), $"row {r}");
            Assert.Equal(0f, together[r].narrow(0, length, together.shape[1] - length).abs().sum().item<float>());
        }

        // Greedy generation: each row of the mixed batch writes what it writes alone; sharing the prefix changes nothing.
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = 12 };
        using var batched = policy.Generate(batchImages, batchPrompts, greedy);
        for (int r = 0; r < 3; r++)
        {
            using var image = policy.ImageProcessor.Collate(new[] { prepared[r] }, policy.Device);
            using var prompt = policy.EncodePrompts(new[] { prompts[r] });
            using var alone = policy.Generate(image, prompt, greedy);
            Assert.Equal(alone.Texts[0], batched.Texts[r]);
        }

        var sampled = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 10, NumReturnSequences = 3, Seed = 7 };
        using var shared = policy.Generate(batchImages, batchPrompts, sampled);
        using var separate = policy.Generate(batchImages, batchPrompts, sampled with { SharePrefix = false });
        Assert.Equal(9, shared.Texts.Count);
        Assert.Equal(shared.Texts, separate.Texts);
        Assert.True(shared.LogProbs.allclose(separate.LogProbs, rtol: 0, atol: 1e-4));

        // Streaming reports exactly the tokens batched sampling draws with the same seed.
        var one = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 10, Seed = 9 };
        using var image1 = policy.ImageProcessor.Collate(new[] { prepared[1] }, policy.Device);
        using var prompt1 = policy.EncodePrompts(new[] { prompts[1] });
        using var plain = policy.Generate(image1, prompt1, one);
        var seen = new List<int>();
        using var streamed = policy.Generate(image1, prompt1, one, id =>
        {
            seen.Add(id);
            return true;
        });
        Assert.Equal(plain.Completions.Ids[0].narrow(0, 0, seen.Count).data<long>().Select(v => (int)v), seen);
        Assert.Equal(plain.Texts, streamed.Texts);
    }

    [Fact]
    public void GrpoOnTheSecondPolicyRaisesARewardItCanReach()
    {
        // The reward pays the share of the letter 'A' in the completion: reachable from a random character model.
        using var policy = PatchPolicy.Create(seed: 5);
        var examples = _data.Train.Take(8).Select(s => new GrpoExample(s)).ToList();
        var reward = new DelegateRewardFunction("letter_a", b => b.Completions.Select(c => (float?)(c.Length == 0 ? 0f : c.Count(ch => ch == 'A') / (float)c.Length)).ToList());
        var options = new GrpoOptions
        {
            Steps = 30,
            BatchSize = 4,
            NumGenerations = 8,
            LearningRate = 3e-3,
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

    [Fact]
    public void EstimatorsTransformerAndSimilarityWorkWithTheSecondPolicy()
    {
        using var dir = new TempFolder();
        using (var start = PatchPolicy.Create(seed: 6))
        {
            start.Save(dir.Sub("start"));
        }

        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(_data.Train.Take(16));
        var test = ml.Data.LoadFromEnumerable(_data.Test.Take(4));

        // S(q) from the second policy's own token embeddings (character embeddings), saved and reloaded.
        IVisionLanguagePolicy startPolicy = PolicyRegistry.Load(dir.Sub("start"), "cpu");
        var embedder = new PolicyTokenEmbedder(startPolicy);
        Assert.Equal(48, embedder.Dimension);
        startPolicy.Dispose();
        var sample = _data.Train[0];
        float score = OptionSimilarityScore.Compute(sample.Options, sample.CorrectIndex, embedder);
        ComponentStore.Save(embedder, dir.Sub("embedder"));
        var reloaded = ComponentStore.Load<PolicyTokenEmbedder>(new ComponentLoadContext(dir.Sub("embedder"), ml, "cpu"));
        Assert.Equal(score, OptionSimilarityScore.Compute(sample.Options, sample.CorrectIndex, reloaded));

        // Warm start (supervised) from the saved folder, then GRPO from the warm-started policy, then predictions.
        var warm = ml.AnatomyR1().SupervisedWarmStart(new VlmSupervisedTrainerOptions
        {
            InitialPolicyFolder = dir.Sub("start"),
            Device = "cpu",
            Training = new AnatomyR1.TorchSharp.Training.SupervisedOptions { Steps = 3, BatchSize = 4, ReportEvery = 1, DrillFraction = 0 },
        });
        using (var warmed = warm.Fit(train))
        {
            Assert.IsType<PatchPolicy>(warmed.Policy);
            warmed.Policy.Save(dir.Sub("warm"));
        }

        var grpo = ml.AnatomyR1().Grpo(new GrpoTrainerOptions
        {
            Grpo = new GrpoOptions { Steps = 2, BatchSize = 2, NumGenerations = 2, Seed = 3, Curriculum = new CurriculumOptions(), Generation = new GenerationOptions { MaxNewTokens = 8 } },
            InitialPolicyFolder = dir.Sub("warm"),
            Device = "cpu",
            OptionSimilarityColumn = null,   // S(q) from the second policy's own token embeddings
        });
        var model = grpo.Fit(train);
        Assert.Equal(2, grpo.History.Count);
        Assert.True(grpo.History.All(m => double.IsFinite(m["curriculum/mean_s_q"])));
        Assert.IsType<PatchPolicy>(model.Policy);
        var predicted = model.Transform(test);
        var completions = predicted.GetColumn<string>(VqaColumns.Completion).ToList();
        Assert.Equal(4, completions.Count);

        VlmModel.Save(ml, model, train.Schema, dir.Sub("model"));
        model.Dispose();
        var loaded = VlmModel.Load(ml, dir.Sub("model"), out _, "cpu");
        Assert.Equal(completions, loaded.Transform(test).GetColumn<string>(VqaColumns.Completion).ToList());
        Assert.IsType<PatchPolicy>(((VlmTransformer)loaded.LastTransformer).Policy);
        ((IDisposable)loaded.LastTransformer).Dispose();
    }

    private sealed class TempFolder : IDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "anatomyr1-seam-" + Guid.NewGuid().ToString("N")[..8]);

        public string Sub(string name) => Path.Combine(_root, name);

        public void Dispose()
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
    }
}
