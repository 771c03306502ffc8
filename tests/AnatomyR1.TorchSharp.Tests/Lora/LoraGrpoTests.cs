using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Tests.Qwen;
using AnatomyR1.TorchSharp.Training.Grpo;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Lora;

/// <summary>GRPO with LoRA adapters: what trains, the reference without a copy, resume, merging, and checkpointed gradients.</summary>
[Collection(TorchCollection.Name)]
public sealed class LoraGrpoTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public LoraGrpoTests(SmallSyntheticData data) => _data = data;

    private List<GrpoExample> Examples(int count) => _data.Train.Take(count).Select(s => new GrpoExample(s)).ToList();

    private static QwenVLPolicy TinyQwen() => (QwenVLPolicy)PolicyRegistry.Load(Path.Combine(QwenReferenceTests.FixtureFolder, "tiny"), "cpu");

    // Rewards shorter completions: it varies within every group, so every step has a gradient.
    private static readonly DelegateRewardFunction Brevity = new("brevity", b => b.Completions.Select(c => (float?)(1f / (1 + c.Length))).ToList());

    private static GrpoOptions Small(int steps, LoraOptions lora) => new()
    {
        Steps = steps, BatchSize = 2, NumGenerations = 4, LearningRate = 1e-2, WarmupSteps = 0, Seed = 5, Beta = 0.04,
        Generation = new GenerationOptions { MaxNewTokens = 24 }, Lora = lora, Rewards = new WeightedRewards().Add(Brevity),
    };

    private static byte[] Weights(nn.Module model) => SafeTensors.Serialize(model.state_dict(), new Dictionary<string, string>());

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void A_lora_step_moves_only_the_adapters_and_its_reference_is_the_base_model()
    {
        using var policy = TinyQwen();
        var before = Snapshot(policy.Model);
        var options = Small(steps: 2, new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0 });
        List<GrpoStepMetrics> history;
        using (var trainer = new GrpoSession(policy, Examples(16), options))
        {
            Assert.Null(trainer.Reference);
            Assert.NotNull(trainer.Adapters);
            Assert.Equal(trainer.Adapters!.TrainableParameterCount, trainer.TrainableParameterCount);
            Assert.Empty(policy.TrainableParameters());
            history = trainer.Train().ToList();

            // Step 1 starts from B = 0: the policy is its reference exactly, so the KL term is exactly 0. After one update it is not.
            Assert.Equal(0.0, history[0]["kl"]);
            Assert.True(history[0]["frac_reward_zero_std"] < 1, "the reward should vary within a group");
            Assert.True(history[1]["kl"] > 0, $"kl at step 2 = {history[1]["kl"]}");
            Assert.Contains(trainer.Adapters.NamedParameters(), p => p.Name.EndsWith("lora_B.weight", StringComparison.Ordinal) && p.Parameter.abs().max().item<float>() > 0);

            // The base weights are bit-identical: only adapters trained.
            foreach (var (name, parameter) in policy.Model.named_parameters())
            {
                Assert.True(before[name].eq(parameter).all().item<bool>(), $"base parameter {name} changed");
            }
        }

        // Disposing the session without merging detaches the adapters: the policy is the base model again, trainable as before.
        Assert.NotEmpty(policy.TrainableParameters());
    }

    [Fact]
    public void Merged_export_scores_like_the_adapted_policy_and_loads_as_a_plain_model()
    {
        using var policy = TinyQwen();
        var examples = Examples(8);
        var options = Small(steps: 2, new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 });
        string folder = GrpoTrainerTests.TempFolder();
        try
        {
            using var trainer = new GrpoSession(policy, examples, options);
            trainer.Train();
            var sample = examples[0].Sample;
            using var images = policy.ImageProcessor.Collate(new[] { policy.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath!)) }, policy.Device);
            var prompts = policy.EncodePrompts(new[] { policy.FormatPrompt(sample.Question, sample.Options) });
            var completions = policy.EncodeCompletions(new[] { "<think>the left lobe</think><answer>A</answer>" });
            Tensor adapted, baseline;
            using (no_grad())
            {
                adapted = policy.CompletionLogProbs(images, prompts, completions);
                using (trainer.Adapters!.Disable())
                {
                    baseline = policy.CompletionLogProbs(images, prompts, completions);
                }
            }

            Assert.True((adapted - baseline).abs().max().item<float>() > 1e-4, "two LoRA steps should change the scores");
            trainer.SaveAdapters(Path.Combine(folder, "adapter"));
            var released = trainer.ReleasePolicy();
            Assert.Same(policy, released);
            Assert.False(trainer.Adapters.IsAttached);
            Assert.Throws<InvalidOperationException>(() => trainer.RunStep());
            using (no_grad())
            {
                var merged = policy.CompletionLogProbs(images, prompts, completions);
                Assert.True((merged - adapted).abs().max().item<float>() < 1e-5, "merged weights score like the adapter forward");
            }

            policy.Save(Path.Combine(folder, "merged"));
            using var reloaded = PolicyRegistry.Load(Path.Combine(folder, "merged"), "cpu");
            using (no_grad())
            {
                var again = reloaded.CompletionLogProbs(images, prompts, completions);
                Assert.True((again - adapted).abs().max().item<float>() < 1e-5, "the saved merged model scores like the adapted policy");
            }

            // The PEFT folder re-applied to a fresh base gives the same scores too.
            using var fresh = TinyQwen();
            using var loaded = LoraAdapters.Load(fresh.AdapterModel, Path.Combine(folder, "adapter"));
            using (no_grad())
            {
                var fromAdapter = fresh.CompletionLogProbs(images, prompts, completions);
                Assert.True((fromAdapter - adapted).abs().max().item<float>() < 1e-5, "saved adapters on a fresh base score like the trained policy");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Resuming_a_lora_run_continues_bit_exactly_with_adapter_dropout()
    {
        string runA = GrpoTrainerTests.TempFolder(), runB = GrpoTrainerTests.TempFolder();
        try
        {
            var options = Small(steps: 4, new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.2 });
            options.CheckpointEvery = 2;
            options.KeepCheckpoints = 0;
            List<GrpoStepMetrics> straight;
            List<Tensor> straightAdapters;
            using (var policy = TinyQwen())
            {
                using var trainer = new GrpoSession(policy, Examples(16), options, runFolder: runA);
                straight = trainer.Train().ToList();
                straightAdapters = trainer.Adapters!.Parameters().Select(p => p.detach().clone()).ToList();
            }

            var checkpoints = GrpoCheckpoint.List(Path.Combine(runA, GrpoSession.CheckpointsFolder));
            Assert.Equal(new[] { 2, 4 }, checkpoints.Select(c => c.Step));
            var first = GrpoCheckpoint.Read(checkpoints[0].Folder);
            Assert.True(first.HasAdapter);
            Assert.False(first.HasReference);
            Assert.True(File.Exists(Path.Combine(checkpoints[0].Folder, GrpoCheckpoint.AdapterFolder, LoraAdapters.WeightsFileName)));

            // The checkpoint's policy folder is the untouched base model.
            using (var saved = (QwenVLPolicy)PolicyRegistry.Load(Path.Combine(checkpoints[0].Folder, GrpoCheckpoint.PolicyFolder), "cpu"))
            using (var original = TinyQwen())
            {
                Assert.Equal(Weights(original.Model), Weights(saved.Model));
            }

            File.Copy(Path.Combine(runA, GrpoSession.MetricsFile), Path.Combine(runB, GrpoSession.MetricsFile));
            using (var resumed = GrpoSession.Resume(checkpoints[0].Folder, Examples(16), options, runFolder: runB, device: "cpu"))
            {
                Assert.Equal(2, resumed.Step);
                Assert.NotNull(resumed.Adapters);
                var rest = resumed.Train();
                GrpoTrainerTests.AssertSameMetrics(straight.Skip(2).ToList(), rest);
                var resumedAdapters = resumed.Adapters!.Parameters();
                Assert.Equal(straightAdapters.Count, resumedAdapters.Count);
                for (int i = 0; i < straightAdapters.Count; i++)
                {
                    Assert.True(straightAdapters[i].eq(resumedAdapters[i]).all().item<bool>(), $"adapter tensor {i} differs after resuming");
                }
            }

            // Another rank, or no LoRA at all, is refused by name.
            var otherRank = Small(steps: 4, new LoraOptions { Rank = 8, Alpha = 8, Dropout = 0.2 });
            var error = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoints[0].Folder, Examples(16), otherRank, device: "cpu"));
            Assert.Contains("lora", error.Message);
            var full = Small(steps: 4, new LoraOptions());
            full.Lora = null;
            error = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoints[0].Folder, Examples(16), full, device: "cpu"));
            Assert.Contains("lora", error.Message);
        }
        finally
        {
            Directory.Delete(runA, recursive: true);
            Directory.Delete(runB, recursive: true);
        }
    }

    [Theory]
    [InlineData("qwen")]
    [InlineData("tiny")]
    public void Checkpointed_layers_give_the_same_adapter_gradients_with_dropout(string which)
    {
        using IVisionLanguagePolicy policy = which == "qwen" ? TinyQwen() : TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        using var adapters = LoraAdapters.Attach(policy.AdapterModel!, new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.3 }, seed: 3);
        using (no_grad())
        {
            // Non-zero B so that gradients reach A as well.
            foreach (var p in adapters.Parameters())
            {
                p.normal_(0, 0.05);
            }
        }

        var samples = _data.Train.Take(2).ToList();
        using var images = policy.ImageProcessor.Collate(samples.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath!))).ToList(), policy.Device);
        var prompts = policy.EncodePrompts(samples.Select(s => policy.FormatPrompt(s.Question, s.Options)).ToList());
        var completions = policy.EncodeCompletions(new[] { "<think>a b c</think><answer>A</answer>", "<answer>B</answer>" });

        List<Tensor> Gradients(bool checkpointing)
        {
            policy.GradientCheckpointing = checkpointing;
            policy.SetTraining(true);
            foreach (var p in adapters.Parameters())
            {
                p.grad?.zero_();
            }

            TorchRuntime.Seed(11);
            var (logProbs, _) = policy.CompletionLogProbsAndEntropy(images, prompts, completions);
            logProbs.sum().backward();
            policy.SetTraining(false);
            return adapters.Parameters().Select(p => p.grad!.clone()).ToList();
        }

        var plain = Gradients(checkpointing: false);
        var checkpointed = Gradients(checkpointing: true);
        policy.GradientCheckpointing = false;
        double worst = plain.Zip(checkpointed, (a, b) => (double)(a - b).abs().max().item<float>()).Max();
        Assert.True(worst <= 1e-6, $"max |Δ grad| = {worst}");
        Assert.True(plain.All(g => g.abs().max().item<float>() > 0), "every adapter should receive a gradient");
        var other = Gradients(checkpointing: false);
        Assert.True(plain.Zip(other, (a, b) => a.eq(b).all().item<bool>()).All(x => x), "same seed, same dropout masks, same gradients");
    }

    [Fact]
    public void Lora_on_a_policy_without_an_adapter_model_is_refused_by_name()
    {
        using var inner = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        IVisionLanguagePolicy policy = new Memory.DelegatingPolicy(inner);
        var options = Small(steps: 1, new LoraOptions { Rank = 2 });
        var error = Assert.Throws<ArgumentException>(() => new GrpoSession(policy, Examples(4), options));
        Assert.Contains("Lora", error.Message);
        options.Lora = null;
        options.GradientCheckpointing = true;
        error = Assert.Throws<ArgumentException>(() => new GrpoSession(policy, Examples(4), options));
        Assert.Contains("GradientCheckpointing", error.Message);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Lora_grpo_on_qwen_raises_a_reward_it_can_reach()
    {
        // The same reachable reward as the full fine-tuning test (share of digits), trained through rank-8 adapters only.
        using var policy = TinyQwen();
        var examples = Examples(8);
        var reward = new DelegateRewardFunction("digits", b => b.Completions.Select(c => (float?)(c.Length == 0 ? 0f : c.Count(char.IsAsciiDigit) / (float)c.Length)).ToList());
        var options = new GrpoOptions
        {
            Steps = 30, BatchSize = 4, NumGenerations = 8, LearningRate = 5e-2, WarmupSteps = 0, Beta = 0.01, Seed = 1,
            Rewards = new WeightedRewards().Add(reward), Generation = new GenerationOptions { MaxNewTokens = 8 },
            Lora = new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0 }, GradientCheckpointing = true,
        };
        using var trainer = new GrpoSession(policy, examples, options);
        var history = trainer.Train();
        double first = history.Take(5).Average(m => m["reward"]);
        double last = history.Skip(25).Average(m => m["reward"]);
        Assert.True(last > first + 0.1, $"reward {first:F3} → {last:F3}");
    }
}
