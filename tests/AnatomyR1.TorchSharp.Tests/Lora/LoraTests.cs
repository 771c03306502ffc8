using System.Text.Json;
using System.Text.RegularExpressions;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Tests.Qwen;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Lora;

/// <summary>LoRA adapters: forward equivalences, merging, the disabled reference, PEFT files, gradients, targeting and errors.</summary>
[Collection(TorchCollection.Name)]
public sealed class LoraTests : IDisposable
{
    /// <summary>
    /// Why the end-to-end tests on the Qwen2.5-VL port and the tiny model are skipped: those classes invoke their
    /// projections through Linear.forward, which skips TorchSharp's forward hooks; they pass once the projections are
    /// invoked through Linear.call.
    /// </summary>

    private static readonly string[] Projections = { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };

    private readonly string _root = Path.Combine(Path.GetTempPath(), "anatomyr1-lora-" + Guid.NewGuid().ToString("N")[..8]);

    public LoraTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Zero_B_leaves_the_logits_exactly_as_the_base_model_gives_them()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var baseLogits = model.Logits(ids, patches);
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        using var logits = model.Logits(ids, patches);
        adapters.EnsureApplied();
        Assert.True(Same(baseLogits, logits));
        Assert.All(adapters.NamedParameters().Where(p => p.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal)), p => Assert.True(p.Parameter.abs().max().item<float>() > 0));
    }

    [Fact]
    public void A_is_seeded_kaiming_uniform_and_B_is_zero_on_the_linear_device_and_dtype()
    {
        using var model = Mini();
        using var first = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        var a = first.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
        first.Detach();
        using var second = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        foreach (var (name, p) in second.NamedParameters())
        {
            Assert.True(Same(a[name], p), name);
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.Equal(DeviceType.CPU, p.device_type);
        }

        var down = second.NamedParameters().Single(p => p.Name == "model.layers.0.mlp.down_proj.lora_A.weight").Parameter;
        Assert.Equal(new long[] { 4, 2 * MiniVlm.Width }, down.shape);
        double bound = 1 / Math.Sqrt(2 * MiniVlm.Width);
        Assert.True(down.abs().max().item<float>() <= bound);
        Assert.True(down.abs().max().item<float>() > 0.8 * bound, "uniform over the whole ±1/√in range");
        Assert.Equal(0f, second.NamedParameters().Single(p => p.Name == "model.layers.0.mlp.down_proj.lora_B.weight").Parameter.abs().sum().item<float>());
        second.Detach();
        using var other = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 6);
        Assert.False(Same(a["model.layers.0.mlp.down_proj.lora_A.weight"], other.NamedParameters().Single(p => p.Name == "model.layers.0.mlp.down_proj.lora_A.weight").Parameter));
    }

    [Fact]
    public void Adapters_of_a_bfloat16_model_are_float32_and_its_outputs_stay_bfloat16()
    {
        using var model = Mini();
        model.to(ScalarType.BFloat16);
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);

        // As PEFT does by default: low-precision bases get float32 adapters (and so float32 AdamW moments).
        Assert.All(adapters.Parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        RandomizeB(adapters, 1);
        var (ids, patches) = MiniVlm.Inputs();
        using var logits = model.Logits(ids, patches.to_type(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        adapters.EnsureApplied();
    }

    [Fact]
    public void Adapters_move_with_the_model()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        RandomizeB(adapters, 1);
        using var adapted = model.Logits(ids, patches);
        var before = adapters.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
        model.to(ScalarType.Float64);
        adapters.to(ScalarType.Float64);
        Assert.All(adapters.Parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.All(adapters.Parameters(), p => Assert.True(p.requires_grad));
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        foreach (var (name, p) in adapters.NamedParameters())
        {
            Assert.True(MaxDiff(p, before[name]) == 0, name);
        }

        using var moved = model.Logits(ids, patches.to_type(ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, moved.dtype);
        Assert.True(MaxDiff(moved, adapted) < 1e-5);
        adapters.Detach();
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Regular_expression_targets_are_saved_as_one_peft_regex_and_reload()
    {
        using var model = Mini();
        var options = new LoraOptions { Rank = 4, TargetModules = new[] { @"model\.layers\.0\..*_proj", "lm_head" }, ExcludeModules = new[] { "mlp.up_proj" } };
        using var adapters = LoraAdapters.Attach(model, options, seed: 5);
        var expected = new[] { "lm_head" }.Concat(Projections.Where(p => p != "mlp.up_proj").Select(p => $"model.layers.0.{p}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, adapters.TargetNames.Order(StringComparer.Ordinal));
        string folder = WriteAdapter(adapters, "regex");
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json"))))
        {
            var targets = new Regex("^(?:" + json.RootElement.GetProperty("target_modules").GetString() + ")\\z");
            var exclude = json.RootElement.GetProperty("exclude_modules").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var peftSelection = LinearNames(model).Where(n => targets.IsMatch(n) && !exclude.Any(x => n == x || n.EndsWith("." + x, StringComparison.Ordinal)));
            Assert.Equal(expected, peftSelection.Order(StringComparer.Ordinal));
        }

        using var fresh = Mini();
        using var loaded = LoraAdapters.Load(fresh, folder);
        Assert.Equal(adapters.TargetNames, loaded.TargetNames);
        Assert.Equal(new[] { "mlp.up_proj" }, loaded.Options.ExcludeModules);
        Assert.Equal(loaded.TargetNames, LoraAdapters.ResolveTargets(fresh, loaded.Options));
    }

    [Fact]
    public void Merged_weights_give_the_adapter_logits_and_unmerging_restores_the_base_weights()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var baseLogits = model.Logits(ids, patches);
        var baseWeights = Snapshot(model);
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        RandomizeB(adapters, 1);
        using var adapted = model.Logits(ids, patches);
        Assert.True(MaxDiff(adapted, baseLogits) > 1e-3, "random B changes the logits");

        adapters.Merge();
        Assert.True(adapters.IsMerged);
        var merged = Snapshot(model);
        foreach (string target in adapters.TargetNames)
        {
            Assert.True(MaxDiff(merged[target + ".weight"], baseWeights[target + ".weight"]) > 1e-4, target);
        }

        Assert.True(Same(merged["visual.blocks.0.mlp.gate_proj.weight"], baseWeights["visual.blocks.0.mlp.gate_proj.weight"]));
        using var mergedLogits = model.Logits(ids, patches);
        Assert.True(MaxDiff(mergedLogits, adapted) < 1e-5, $"merged vs adapter forward: {MaxDiff(mergedLogits, adapted)}");
        Assert.Throws<InvalidOperationException>(() => adapters.Merge());
        Assert.Throws<InvalidOperationException>(() => adapters.Disable());

        adapters.Unmerge();
        Assert.False(adapters.IsMerged);
        foreach (var (name, weight) in Snapshot(model))
        {
            Assert.True(MaxDiff(weight, baseWeights[name]) < 1e-6, name);
        }

        using var again = model.Logits(ids, patches);
        Assert.True(MaxDiff(again, adapted) < 1e-5);
        Assert.Throws<InvalidOperationException>(() => adapters.Unmerge());
    }

    [Fact]
    public void Disabled_adapters_give_the_base_logits_exactly()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var baseLogits = model.Logits(ids, patches);
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        RandomizeB(adapters, 1);
        using var adapted = model.Logits(ids, patches);
        using (adapters.Disable())
        {
            Assert.False(adapters.Enabled);
            using var reference = model.Logits(ids, patches);
            Assert.True(Same(reference, baseLogits));
            using (adapters.Disable())
            {
            }

            Assert.False(adapters.Enabled);
        }

        Assert.True(adapters.Enabled);
        using var back = model.Logits(ids, patches);
        Assert.True(Same(back, adapted));
        adapters.Enabled = false;
        using var off = model.Logits(ids, patches);
        Assert.True(Same(off, baseLogits));
        Assert.Throws<InvalidOperationException>(() => adapters.Merge());
    }

    [Fact]
    public void Dropout_applies_in_training_mode_only()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4, Dropout = 0.5 }, seed: 5);
        RandomizeB(adapters, 1);
        model.eval();
        using var e1 = model.Logits(ids, patches);
        using var e2 = model.Logits(ids, patches);
        Assert.True(Same(e1, e2));
        model.train();
        using var t1 = model.Logits(ids, patches);
        using var t2 = model.Logits(ids, patches);
        Assert.True(MaxDiff(t1, t2) > 1e-4, "dropout draws differ between training passes");
        Assert.True(MaxDiff(t1, e1) > 1e-4);
    }

    [Fact]
    public void Backward_reaches_only_the_adapters_and_a_step_changes_only_them()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        var before = Snapshot(model);
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        RandomizeB(adapters, 1);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(adapters.Parameters(), p => Assert.True(p.requires_grad));
        Assert.Equal(2 * 2 * 7, adapters.Parameters().Count);
        var adapterBefore = adapters.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());

        using var optimizer = optim.AdamW(adapters.Parameters(), lr: 1e-2);
        optimizer.zero_grad();
        using var logits = model.Logits(ids, patches);
        using var loss = nn.functional.cross_entropy(logits.reshape(-1, MiniVlm.Vocab), ids.reshape(-1));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.grad is null, $"base parameter {name} got a gradient");
        }

        foreach (var (name, p) in adapters.NamedParameters())
        {
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }

        optimizer.step();
        foreach (var (name, weight) in Snapshot(model))
        {
            Assert.True(Same(weight, before[name]), $"{name} changed");
        }

        foreach (var (name, p) in adapters.NamedParameters())
        {
            Assert.True(MaxDiff(p, adapterBefore[name]) > 0, $"{name} did not change");
        }
    }

    [Fact]
    public void Saved_adapters_have_peft_keys_and_config_and_load_into_a_fresh_model_with_identical_logits()
    {
        var (ids, patches) = MiniVlm.Inputs();
        string folder = Path.Combine(_root, "adapter");
        Tensor expected;
        using (var model = Mini())
        using (var adapters = LoraAdapters.Attach(model, new LoraOptions(), seed: 5))
        {
            RandomizeB(adapters, 1);
            expected = model.Logits(ids, patches);
            adapters.Save(folder, "Qwen/Qwen2.5-VL-3B-Instruct");
        }

        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { folder }, Directory.GetDirectories(_root));

        var expectedKeys = Enumerable.Range(0, 2)
            .SelectMany(i => Projections.Select(p => $"model.layers.{i}.{p}"))
            .SelectMany(m => new[] { $"base_model.model.{m}.lora_A.weight", $"base_model.model.{m}.lora_B.weight" })
            .Order(StringComparer.Ordinal)
            .ToArray();
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors")))
        {
            Assert.Equal(expectedKeys, file.Names);
            Assert.Equal("pt", file.Metadata["format"]);
            Assert.Equal(new long[] { 16, MiniVlm.Width }, file.Info("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight").Shape);
            Assert.Equal(new long[] { MiniVlm.Width / 2, 16 }, file.Info("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").Shape);
            Assert.Equal("F32", file.Info("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").DType);
        }

        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json"))))
        {
            var root = json.RootElement;
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.Order(StringComparer.Ordinal), names);
            Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
            Assert.Equal(16, root.GetProperty("r").GetInt32());
            Assert.Equal("32", root.GetProperty("lora_alpha").GetRawText());
            Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
            Assert.Equal("none", root.GetProperty("bias").GetString());
            Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
            Assert.False(root.GetProperty("use_rslora").GetBoolean());
            Assert.False(root.GetProperty("fan_in_fan_out").GetBoolean());
            Assert.False(root.GetProperty("use_dora").GetBoolean());
            Assert.True(root.GetProperty("inference_mode").GetBoolean());
            Assert.Equal("Qwen/Qwen2.5-VL-3B-Instruct", root.GetProperty("base_model_name_or_path").GetString());
            Assert.Equal(LoraOptions.DefaultTargetModules, root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(JsonValueKind.String, root.GetProperty("exclude_modules").ValueKind);
        }

        using (var fresh = Mini())
        {
            var (freshIds, freshPatches) = MiniVlm.Inputs();
            using var baseLogits = fresh.Logits(freshIds, freshPatches);
            using var loaded = LoraAdapters.Load(fresh, folder);
            Assert.Equal(16, loaded.Options.Rank);
            Assert.Equal(32, loaded.Options.Alpha);
            Assert.Equal(0.05, loaded.Options.Dropout);
            Assert.Equal(2.0, loaded.Scaling);
            Assert.All(fresh.parameters(), p => Assert.False(p.requires_grad));
            using var logits = fresh.Logits(freshIds, freshPatches);
            loaded.EnsureApplied();
            Assert.True(Same(logits, expected));
            Assert.True(MaxDiff(logits, baseLogits) > 1e-3);

            // Saving what was loaded writes the same tensors.
            string again = Path.Combine(_root, "again");
            loaded.Save(again, null);
            using var first = SafeTensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
            using var second = SafeTensorsFile.Open(Path.Combine(again, "adapter_model.safetensors"));
            Assert.Equal(first.Names, second.Names);
            foreach (string key in first.Names)
            {
                using var x = first.Read(key, ScalarType.Float32);
                using var y = second.Read(key, ScalarType.Float32);
                Assert.True(Same(x, y), key);
            }
        }

        expected.Dispose();
    }

    [Fact]
    public void Adapters_saved_with_the_newer_hugging_face_layout_load_through_the_name_mapping()
    {
        var (ids, patches) = MiniVlm.Inputs();
        string folder = Path.Combine(_root, "ours");
        string nested = Path.Combine(_root, "nested");
        Tensor expected;
        using (var model = Mini())
        using (var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5))
        {
            RandomizeB(adapters, 1);
            expected = model.Logits(ids, patches);
            adapters.Save(folder, null);
            Directory.CreateDirectory(nested);
            File.Copy(Path.Combine(folder, "adapter_config.json"), Path.Combine(nested, "adapter_config.json"));
            var renamed = adapters.NamedParameters().Select(p => new KeyValuePair<string, Tensor>(
                "base_model.model." + p.Name.Replace("model.layers.", "model.language_model.layers.", StringComparison.Ordinal), p.Parameter)).ToList();
            SafeTensorsWriter.Write(Path.Combine(nested, "adapter_model.safetensors"), renamed);
        }

        Assert.Equal("model.layers.3.mlp.up_proj", LoraAdapters.QwenModuleName("model.language_model.layers.3.mlp.up_proj"));
        Assert.Equal("visual.blocks.0.attn.qkv", LoraAdapters.QwenModuleName("model.visual.blocks.0.attn.qkv"));
        Assert.Equal("model.layers.3.mlp.up_proj", LoraAdapters.QwenModuleName("model.layers.3.mlp.up_proj"));

        using (var fresh = Mini())
        {
            var error = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(fresh, nested));
            Assert.Contains("base_model.model.model.language_model.layers.0.mlp.down_proj.lora_A.weight", error.Message, StringComparison.Ordinal);
            Assert.Contains("not a Linear module", error.Message, StringComparison.Ordinal);
            using var loaded = LoraAdapters.Load(fresh, nested, LoraAdapters.QwenModuleName);
            Assert.Contains("model.layers.1.self_attn.o_proj", loaded.TargetNames);
            using var logits = fresh.Logits(ids, patches);
            Assert.True(Same(logits, expected));
        }

        expected.Dispose();
    }

    [Fact]
    public void Detach_removes_the_hooks_and_restores_requires_grad_as_it_was()
    {
        using var model = Mini();
        var (ids, patches) = MiniVlm.Inputs();
        using var baseLogits = model.Logits(ids, patches);
        foreach (var (name, p) in model.named_parameters().Where(p => p.name.StartsWith("visual.", StringComparison.Ordinal)))
        {
            p.requires_grad = false;
        }

        var flags = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad);
        Assert.Contains(true, flags.Values);
        Assert.Contains(false, flags.Values);
        var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        RandomizeB(adapters, 1);
        adapters.Merge();
        adapters.Detach();
        Assert.False(adapters.IsAttached);
        Assert.False(adapters.IsMerged);
        Assert.Equal(flags, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad));
        using var after = model.Logits(ids, patches);
        Assert.True(MaxDiff(after, baseLogits) < 1e-5, "detached (and unmerged) adapters no longer change the model");
        Assert.Throws<InvalidOperationException>(() => adapters.Merge());

        // Detached adapters can be saved, and the model accepts new ones; disposing detaches.
        adapters.Save(Path.Combine(_root, "detached"), null);
        adapters.Dispose();
        var next = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
        next.Dispose();
        Assert.Equal(flags, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad));
        using var third = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 5);
    }

    [Fact]
    public void Modules_invoked_through_forward_are_reported_as_never_applied()
    {
        using var module = new CallAndForward();
        using var adapters = LoraAdapters.Attach(module, new LoraOptions { TargetModules = new[] { "called", "direct" }, Rank = 2 }, seed: 1);
        var error = Assert.Throws<InvalidOperationException>(() => adapters.EnsureApplied());
        Assert.Contains("'called'", error.Message, StringComparison.Ordinal);
        using var output = module.forward(ones(1, 4));
        error = Assert.Throws<InvalidOperationException>(() => adapters.EnsureApplied());
        Assert.Contains("'direct'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'called'", error.Message, StringComparison.Ordinal);
        Assert.Contains("call(", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_targets_are_the_language_model_projections_of_the_qwen_port()
    {
        using var model = new QwenVLModel(QwenModelTests.TinyConfig(tied: false));
        var all = LinearNames(model);
        Assert.Contains("visual.blocks.0.mlp.gate_proj", all);
        Assert.Contains("lm_head", all);
        var expected = Enumerable.Range(0, 2).SelectMany(i => Projections.Select(p => $"model.layers.{i}.{p}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, LoraAdapters.ResolveTargets(model, new LoraOptions()).Order(StringComparer.Ordinal));

        using var adapters = LoraAdapters.Attach(model, new LoraOptions(), seed: 1);
        Assert.Equal(expected, adapters.TargetNames.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(adapters.TargetNames, n => n.StartsWith("visual.", StringComparison.Ordinal) || n.Contains("vision", StringComparison.Ordinal));
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        var config = QwenModelTests.TinyConfig(tied: false).Text;
        long perLayer = 16 * (config.HiddenSize + config.Heads * config.HeadDim) + 2 * 16 * (config.HiddenSize + config.KeyValueHeads * config.HeadDim)
            + 16 * (config.Heads * config.HeadDim + config.HiddenSize) + 2 * 16 * (config.HiddenSize + config.IntermediateSize) + 16 * (config.IntermediateSize + config.HiddenSize);
        Assert.Equal(2 * perLayer, adapters.TrainableParameterCount);

        // PEFT applying the saved target_modules/exclude_modules to these names selects the same modules.
        string folder = Path.Combine(_root, "qwen");
        adapters.Save(folder, null);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
        string[] targets = json.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var exclude = new Regex("^(?:" + json.RootElement.GetProperty("exclude_modules").GetString() + ")\\z");
        var peftSelection = all.Where(n => !exclude.IsMatch(n) && targets.Any(t => n == t || n.EndsWith("." + t, StringComparison.Ordinal)));
        Assert.Equal(expected, peftSelection.Order(StringComparer.Ordinal));
        Assert.Matches(exclude, "model.visual.blocks.0.mlp.up_proj");
        Assert.DoesNotMatch(exclude, "model.language_model.layers.0.mlp.up_proj");
    }

    [Fact]
    public void Default_targets_are_the_language_model_projections_of_the_tiny_model()
    {
        using var policy = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 1);
        var all = LinearNames(policy.Model);
        Assert.Contains(all, n => n.StartsWith("vision.", StringComparison.Ordinal));
        var expected = Enumerable.Range(0, policy.Config.Layers).SelectMany(i => Projections.Select(p => $"layers.{i}.{p}")).Order(StringComparer.Ordinal);
        using var adapters = LoraAdapters.Attach(policy.Model, new LoraOptions(), seed: 1);
        Assert.Equal(expected, adapters.TargetNames.Order(StringComparer.Ordinal));
        Assert.Empty(policy.TrainableParameters());
        Assert.Equal(2 * expected.Count(), adapters.Parameters().Count);
    }

    [Fact]
    public void Patterns_follow_peft_matching()
    {
        Assert.True(LoraModulePattern.Matches("q_proj", "model.layers.0.self_attn.q_proj"));
        Assert.True(LoraModulePattern.Matches("q_proj", "q_proj"));
        Assert.False(LoraModulePattern.Matches("q_proj", "model.layers.0.self_attn.xq_proj"));
        Assert.True(LoraModulePattern.Matches("self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
        Assert.False(LoraModulePattern.IsRegex("self_attn.q_proj"));
        Assert.True(LoraModulePattern.IsRegex(@"model\.layers\.0\..*"));
        Assert.True(LoraModulePattern.Matches(@".*layers\.1\..*_proj", "model.layers.1.mlp.up_proj"));
        Assert.False(LoraModulePattern.Matches(@"layers\.1\..*_proj", "model.layers.1.mlp.up_proj"));
        Assert.True(LoraModulePattern.Matches("^model.*(q|v)_proj", "model.layers.1.self_attn.v_proj"));
        Assert.False(LoraModulePattern.Matches("^model.*(q|v)_proj", "model.layers.1.self_attn.v_proj.extra"));
        Assert.True(LoraModulePattern.MatchesAny(LoraOptions.DefaultExcludeModules, "visual.blocks.0.mlp.up_proj"));
        Assert.True(LoraModulePattern.MatchesAny(LoraOptions.DefaultExcludeModules, "model.visual.blocks.0.mlp.up_proj"));
        Assert.True(LoraModulePattern.MatchesAny(LoraOptions.DefaultExcludeModules, "vision.projector"));
        Assert.False(LoraModulePattern.MatchesAny(LoraOptions.DefaultExcludeModules, "model.layers.0.mlp.up_proj"));
        Assert.False(LoraModulePattern.MatchesAny(LoraOptions.DefaultExcludeModules, "model.layers.0.visualiser"));
        Assert.Equal(2.0, new LoraOptions { UseRsLora = true, Alpha = 8, Rank = 16 }.Scaling, 12);
        Assert.Throws<ArgumentException>(() => new LoraOptions { TargetModules = new[] { "(" } }.Validate());
        Assert.Throws<ArgumentException>(() => new LoraOptions { Rank = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new LoraOptions { Dropout = 1 }.Validate());
    }

    [Fact]
    public void A_target_pattern_that_matches_nothing_is_refused_with_the_patterns_and_some_linear_names()
    {
        using var model = Mini();
        var error = Assert.Throws<ArgumentException>(() => LoraAdapters.Attach(model, new LoraOptions { TargetModules = new[] { "q_proj", "c_attn", "wo" } }, seed: 1));
        Assert.Contains("'c_attn'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'wo'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'q_proj'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lm_head", error.Message, StringComparison.Ordinal);
        Assert.Contains("model.layers.0.self_attn.q_proj", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<ArgumentException>(() => LoraAdapters.Attach(model, new LoraOptions { TargetModules = new[] { "qkv" } }, seed: 1));
        Assert.Contains("'qkv' (only excluded modules", error.Message, StringComparison.Ordinal);

        // Nothing was attached by the failed calls.
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        using var vision = LoraAdapters.Attach(model, new LoraOptions { TargetModules = new[] { "qkv" }, ExcludeModules = Array.Empty<string>() }, seed: 1);
        Assert.Equal(new[] { "visual.blocks.0.attn.qkv", "visual.blocks.1.attn.qkv" }, vision.TargetNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Attaching_twice_is_refused()
    {
        using var model = Mini();
        using var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 1);
        var error = Assert.Throws<InvalidOperationException>(() => LoraAdapters.Attach(model, new LoraOptions { Rank = 4 }, seed: 1));
        Assert.Contains("already has LoRA adapters", error.Message, StringComparison.Ordinal);
        var submodule = model.named_modules().Single(m => m.name == "model.layers.0").module;
        Assert.Throws<InvalidOperationException>(() => LoraAdapters.Attach(submodule, new LoraOptions { Rank = 4 }, seed: 1));
        Assert.Throws<InvalidOperationException>(() => LoraAdapters.Load(model, WriteAdapter(adapters, "twice")));
    }

    [Fact]
    public void Loading_adapters_that_do_not_fit_names_the_file_and_the_key()
    {
        string folder;
        using (var mini = Mini())
        using (var adapters = LoraAdapters.Attach(mini, new LoraOptions { Rank = 4 }, seed: 1))
        {
            folder = WriteAdapter(adapters, "mini");
        }

        // Same module names, other widths: the Qwen port's down_proj reads 64 features, the mini model's 32.
        using var qwen = new QwenVLModel(QwenModelTests.TinyConfig());
        string weights = Path.Combine(folder, "adapter_model.safetensors");
        var error = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(qwen, folder));
        Assert.Contains(weights, error.Message, StringComparison.Ordinal);
        Assert.Contains("'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight' has shape [4, 32]", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs [4, 64]", error.Message, StringComparison.Ordinal);
        Assert.All(qwen.parameters(), p => Assert.True(p.requires_grad));

        using var model = Mini();
        var cases = new (string Key, long[] Shape, string Message)[]
        {
            ("base_model.model.model.embed_tokens.lora_A.weight", new long[] { 4, MiniVlm.Width }, "not a Linear module"),
            ("base_model.model.lm_head.weight", new long[] { MiniVlm.Vocab, MiniVlm.Width }, "not a LoRA weight"),
            ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight", new long[] { 4, MiniVlm.Width }, "not a LoRA weight"),
            ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", new long[] { 4, MiniVlm.Width }, "no matching lora_B"),
        };
        foreach (var (key, shape, message) in cases)
        {
            string bad = Path.Combine(_root, "bad-" + Guid.NewGuid().ToString("N")[..6]);
            Directory.CreateDirectory(bad);
            File.Copy(Path.Combine(folder, "adapter_config.json"), Path.Combine(bad, "adapter_config.json"));
            using var tensor = zeros(shape);
            SafeTensorsWriter.Write(Path.Combine(bad, "adapter_model.safetensors"), new[] { new KeyValuePair<string, Tensor>(key, tensor) });
            error = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(model, bad));
            Assert.Contains(key, error.Message, StringComparison.Ordinal);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(bad, "adapter_model.safetensors"), error.Message, StringComparison.Ordinal);
        }

        // Unsupported PEFT features are refused by name.
        string dora = Path.Combine(_root, "dora");
        Directory.CreateDirectory(dora);
        File.Copy(weights, Path.Combine(dora, "adapter_model.safetensors"));
        File.WriteAllText(Path.Combine(dora, "adapter_config.json"), File.ReadAllText(Path.Combine(folder, "adapter_config.json")).Replace("\"use_dora\": false", "\"use_dora\": true", StringComparison.Ordinal));
        error = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(model, dora));
        Assert.Contains("use_dora", error.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => LoraAdapters.Load(model, Path.Combine(_root, "missing")));
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void End_to_end_on_the_qwen_port()
    {
        var config = QwenModelTests.TinyConfig(tied: false);
        long[] prompt = { 1001, 17, 1009, 1012, 1012, 1012, 1012, 1010, 40, 41, 300, 301 };
        using var patches = randn(new long[] { 16, 1176 }, generator: new Generator(3, CPU));
        using var ids = tensor(prompt, new long[] { 1, prompt.Length });
        using var mask = ones_like(ids);
        EndToEnd(
            () =>
            {
                manual_seed(7);
                var model = new QwenVLModel(config);
                model.eval();
                return model;
            },
            m =>
            {
                var model = (QwenVLModel)m;
                using var scope = NewDisposeScope();
                return model.Logits(model.Prefill(patches, new[] { new[] { 1, 4, 4 } }, ids, mask)).MoveToOuterDisposeScope();
            });
    }

    [Fact]
    public void End_to_end_on_the_tiny_model()
    {
        var tokenizer = DefaultVocabulary.CreateTokenizer();
        TorchRuntime.Seed(3);
        using var pixels = rand(2, 3, 64, 64);
        using var probe = TinyVlmPolicy.Create(tokenizer, device: "cpu", seed: 1);
        using var prompts = probe.EncodePrompts(new[] { "What is the red anatomy?", "What anatomy is at the centre of the frame ?" });
        EndToEnd(
            () =>
            {
                var model = TinyVlmPolicy.Create(tokenizer, device: "cpu", seed: 1).Model;
                model.eval();
                return model;
            },
            m => ((TinyVlm)m).Prefill(pixels, prompts.Ids, prompts.Mask));
    }

    [Fact]
    public void End_to_end_on_a_model_that_invokes_its_projections_through_call()
    {
        var (ids, patches) = MiniVlm.Inputs();
        EndToEnd(() => Mini(), m => ((MiniVlm)m).Logits(ids, patches));
    }

    /// <summary>B = 0 is exact, random B changes the logits, merging agrees, disabling is exact, and a PEFT round trip is exact.</summary>
    private void EndToEnd(Func<nn.Module> build, Func<nn.Module, Tensor> logits)
    {
        string folder = Path.Combine(_root, "e2e-" + Guid.NewGuid().ToString("N")[..6]);
        using var model = build();
        using var baseLogits = logits(model);
        using (var adapters = LoraAdapters.Attach(model, new LoraOptions { Rank = 8 }, seed: 11))
        {
            using (var zero = logits(model))
            {
                adapters.EnsureApplied();
                Assert.True(Same(zero, baseLogits), "B = 0 leaves the logits unchanged");
            }

            RandomizeB(adapters, 2);
            using var adapted = logits(model);
            Assert.True(MaxDiff(adapted, baseLogits) > 1e-3, "random B changes the logits");
            using (adapters.Disable())
            {
                using var reference = logits(model);
                Assert.True(Same(reference, baseLogits), "disabled adapters give the base logits");
            }

            adapters.Merge();
            using (var merged = logits(model))
            {
                Assert.True(MaxDiff(merged, adapted) < 1e-5, $"merged vs adapter forward: {MaxDiff(merged, adapted)}");
            }

            adapters.Unmerge();
            using (var unmerged = logits(model))
            {
                Assert.True(MaxDiff(unmerged, adapted) < 1e-5);
            }

            adapters.Save(folder, null);
            using var fresh = build();
            using var loaded = LoraAdapters.Load(fresh, folder);
            using var reloaded = logits(fresh);
            Assert.True(Same(reloaded, adapted), "a fresh model with the loaded adapters gives the same logits");
        }
    }

    private static MiniVlm Mini()
    {
        var model = new MiniVlm(seed: 42);
        model.eval();
        return model;
    }

    private string WriteAdapter(LoraAdapters adapters, string name)
    {
        string folder = Path.Combine(_root, name);
        adapters.Save(folder, null);
        return folder;
    }

    private static List<string> LinearNames(nn.Module model) =>
        model.named_modules().Where(m => m.module is global::TorchSharp.Modules.Linear).Select(m => m.name).ToList();

    private static void RandomizeB(LoraAdapters adapters, ulong seed)
    {
        var generator = new Generator(seed, CPU);
        using var noGrad = no_grad();
        foreach (var (name, p) in adapters.NamedParameters().Where(p => p.Name.EndsWith(".lora_B.weight", StringComparison.Ordinal)))
        {
            using var values = randn(p.shape, generator: generator) * 0.02;
            p.copy_(values);
        }
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static double MaxDiff(Tensor a, Tensor b) => (a.to_type(ScalarType.Float32) - b.to_type(ScalarType.Float32)).abs().max().item<float>();
}
