using System.Text.Json;
using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using Xunit;
using static AnatomyR1.TorchSharp.Tests.SafeTensorsTestFiles;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

[Collection(TorchCollection.Name)]
public sealed class HuggingFaceCheckpointTests : IDisposable
{
    private readonly string _root = TempFolder("anatomyr1-hf");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void SingleFileLoadsExactlyOneTensorAtATime()
    {
        using var source = new ToyQwen(1);
        using var target = new ToyQwen(2);
        string folder = Folder("single");
        WriteSingle(folder, source.state_dict().Select(p => FromTensor(p.Key, p.Value)));
        var expected = Snapshot(source);
        var before = Snapshot(target);
        Assert.All(expected, p => Assert.NotEqual(before[p.Key], p.Value));

        using var checkpoint = HuggingFaceCheckpoint.Open(folder);
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), checkpoint.Names);
        Assert.Equal(new[] { Path.Combine(folder, "model.safetensors") }, checkpoint.Files);
        Assert.Equal(new long[] { 10, 6 }, checkpoint.Info("model.embed_tokens.weight").Shape);
        Assert.Equal(Path.Combine(folder, "model.safetensors"), checkpoint.FileOf("lm_head.weight"));
        using (var read = checkpoint.Read("model.norm.weight", ScalarType.Float64))
        {
            Assert.Equal(expected["model.norm.weight"].Select(v => (double)v), read.data<double>().ToArray());
        }

        // When each tensor is reported loaded, it and the ones before it hold the checkpoint's values and the rest
        // still hold the module's own: tensors go in one at a time, not all at the end.
        var order = new List<string>();
        checkpoint.LoadInto(target, n => n, onTensorLoaded: (checkpointName, moduleName) =>
        {
            Assert.Equal(checkpointName, moduleName);
            order.Add(moduleName);
            var now = Snapshot(target);
            foreach (string name in now.Keys)
            {
                Assert.Equal(order.Contains(name) ? expected[name] : before[name], now[name]);
            }
        });
        Assert.Equal(expected.Count, order.Count);
        Assert.Equal(expected, Snapshot(target));
    }

    [Fact]
    public void TwoShardsOfBf16F16AndF32LoadIntoAFloat32Model()
    {
        using var source = new ToyQwen(3);
        using var target = new ToyQwen(4);
        string folder = Folder("sharded");
        var state = source.state_dict();
        string DTypeOf(string name) => name.StartsWith("model.", StringComparison.Ordinal) ? "BF16" : name.StartsWith("visual.proj", StringComparison.Ordinal) ? "F16" : "F32";
        var first = state.Where(p => p.Key.StartsWith("model.", StringComparison.Ordinal)).ToList();
        var second = state.Where(p => !p.Key.StartsWith("model.", StringComparison.Ordinal)).ToList();
        File.WriteAllBytes(Path.Combine(folder, "model-00001-of-00002.safetensors"), BuildFile(first.Select(p => Entry(p.Key, p.Value, DTypeOf(p.Key)))));
        File.WriteAllBytes(Path.Combine(folder, "model-00002-of-00002.safetensors"), BuildFile(second.Select(p => Entry(p.Key, p.Value, DTypeOf(p.Key)))));
        WriteIndex(folder, first.ToDictionary(p => p.Key, _ => "model-00001-of-00002.safetensors").Concat(second.ToDictionary(p => p.Key, _ => "model-00002-of-00002.safetensors")));

        using var checkpoint = HuggingFaceCheckpoint.Open(folder);
        Assert.Equal(2, checkpoint.Files.Count);
        Assert.Equal("BF16", checkpoint.Info("model.embed_tokens.weight").DType);
        Assert.Equal("F16", checkpoint.Info("visual.proj.weight").DType);
        Assert.Equal("I64", checkpoint.Info("visual.position_ids").DType);
        Assert.EndsWith("model-00002-of-00002.safetensors", checkpoint.FileOf("lm_head.weight"), StringComparison.Ordinal);
        checkpoint.LoadInto(target, n => n);

        foreach (var (name, tensor) in target.state_dict())
        {
            var original = state[name];
            if (original.dtype == ScalarType.Int64)
            {
                Assert.Equal(original.data<long>().ToArray(), tensor.data<long>().ToArray());
                continue;
            }

            // Exactly the stored value widened: BF16 and F16 convert to F32 without rounding.
            var type = DTypeOf(name) switch { "BF16" => ScalarType.BFloat16, "F16" => ScalarType.Float16, _ => ScalarType.Float32 };
            using var stored = original.detach().to(type).to(ScalarType.Float32);
            Assert.Equal(stored.data<float>().ToArray(), tensor.data<float>().ToArray());
            Assert.Equal(ScalarType.Float32, tensor.dtype);
        }
    }

    [Fact]
    public void BothQwenKeyLayoutsLoadThroughTheCanonicalNames()
    {
        Assert.Equal("model.layers.3.mlp.up_proj.weight", QwenCheckpointNames.ToCanonical("model.language_model.layers.3.mlp.up_proj.weight"));
        Assert.Equal("model.embed_tokens.weight", QwenCheckpointNames.ToCanonical("model.language_model.embed_tokens.weight"));
        Assert.Equal("model.norm.weight", QwenCheckpointNames.ToCanonical("model.norm.weight"));
        Assert.Equal("visual.blocks.0.attn.qkv.weight", QwenCheckpointNames.ToCanonical("model.visual.blocks.0.attn.qkv.weight"));
        Assert.Equal("visual.merger.mlp.0.bias", QwenCheckpointNames.ToCanonical("visual.merger.mlp.0.bias"));
        Assert.Equal("lm_head.weight", QwenCheckpointNames.ToCanonical("lm_head.weight"));
        Assert.Equal("model.visualizer.x", QwenCheckpointNames.ToCanonical("model.visualizer.x"));

        using var source = new ToyQwen(5);
        var expected = Snapshot(source);
        static string Newer(string name) =>
            name.StartsWith("visual.", StringComparison.Ordinal) ? "model." + name
            : name.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + name["model.".Length..]
            : name;
        foreach (var (layout, rename) in new (string, Func<string, string>)[] { ("older", n => n), ("newer", Newer) })
        {
            string folder = Folder(layout);
            WriteSingle(folder, source.state_dict().Select(p => FromTensor(rename(p.Key), p.Value)));
            using var target = new ToyQwen(6);
            using var checkpoint = HuggingFaceCheckpoint.Open(folder);
            Assert.Equal(layout == "newer", checkpoint.Contains("model.language_model.embed_tokens.weight"));
            checkpoint.LoadInto(target, QwenCheckpointNames.ToCanonical);
            Assert.Equal(expected, Snapshot(target));
        }
    }

    [Fact]
    public void LoadingIsStrictAndChecksEverythingBeforeCopyingAnything()
    {
        using var source = new ToyQwen(7);
        using var target = new ToyQwen(8);
        var untouched = Snapshot(target);
        var state = source.state_dict();

        // Missing: the output head is absent (as in a checkpoint with tied embeddings).
        string tied = Folder("tied");
        WriteSingle(tied, state.Where(p => p.Key != "lm_head.weight").Select(p => FromTensor(p.Key, p.Value)));
        using (var checkpoint = HuggingFaceCheckpoint.Open(tied))
        {
            var missing = Assert.Throws<InvalidDataException>(() => checkpoint.LoadInto(target, n => n));
            Assert.Contains("missing tensor(s) 'lm_head.weight' (1 in all)", missing.Message, StringComparison.Ordinal);
            Assert.StartsWith(tied, missing.Message, StringComparison.Ordinal);
            Assert.Equal(untouched, Snapshot(target));

            checkpoint.LoadInto(target, n => n, new HashSet<string> { "lm_head.weight" });
            var loaded = Snapshot(target);
            Assert.Equal(untouched["lm_head.weight"], loaded["lm_head.weight"]);
            Assert.Equal(Snapshot(source)["model.norm.weight"], loaded["model.norm.weight"]);
        }

        // Unexpected: thirteen extra tensors are listed by the first ten and counted; a null mapping skips one deliberately.
        using var fresh = new ToyQwen(8);
        string extra = Folder("extra");
        var extras = Enumerable.Range(0, 13).Select(i => F32($"model.extra.{i:D2}", new long[] { 1 }, new[] { (float)i }));
        WriteSingle(extra, state.Select(p => FromTensor(p.Key, p.Value)).Concat(extras).Append(F32("rotary.inv_freq", new long[] { 1 }, new[] { 1f })));
        using (var checkpoint = HuggingFaceCheckpoint.Open(extra))
        {
            var ex = Assert.Throws<InvalidDataException>(() => checkpoint.LoadInto(fresh, n => n == "rotary.inv_freq" ? null : n));
            Assert.Contains("unexpected tensor(s) the model does not have 'model.extra.00', 'model.extra.01'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'model.extra.09' and 3 more (13 in all)", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("model.extra.10", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("rotary", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("missing", ex.Message, StringComparison.Ordinal);

            var renamed = Assert.Throws<InvalidDataException>(() => checkpoint.LoadInto(fresh, n => n.StartsWith("model.extra", StringComparison.Ordinal) || n == "rotary.inv_freq" ? null : "x." + n));
            Assert.Contains("'model.norm.weight' (as 'x.model.norm.weight')", renamed.Message, StringComparison.Ordinal);

            var twice = Assert.Throws<InvalidDataException>(() => checkpoint.LoadInto(fresh, n => n.StartsWith("model.extra", StringComparison.Ordinal) ? "model.norm.weight" : n == "rotary.inv_freq" ? null : n));
            Assert.Contains("both map to 'model.norm.weight'", twice.Message, StringComparison.Ordinal);
        }

        // Mis-shaped: the tensor, both shapes and the file are named.
        string shaped = Folder("shaped");
        WriteSingle(shaped, state.Select(p => p.Key == "model.norm.weight" ? F32(p.Key, new long[] { 7 }, new float[7]) : FromTensor(p.Key, p.Value)));
        using (var checkpoint = HuggingFaceCheckpoint.Open(shaped))
        {
            var ex = Assert.Throws<InvalidDataException>(() => checkpoint.LoadInto(target, n => n));
            Assert.Contains($"tensor 'model.norm.weight' in {Path.Combine(shaped, "model.safetensors")} has shape [7], the model's 'model.norm.weight' is [6]", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(untouched["model.embed_tokens.weight"], Snapshot(fresh)["model.embed_tokens.weight"]);
    }

    [Fact]
    public void AnIndexMustStayInsideTheFolderAndAgreeWithItsShards()
    {
        using var source = new ToyQwen(9);
        var state = source.state_dict();
        string outside = Folder("outside");
        File.WriteAllBytes(Path.Combine(outside, "stolen.safetensors"), BuildFile(state.Select(p => FromTensor(p.Key, p.Value))));

        InvalidDataException Refused(string name, string shard)
        {
            string folder = Folder(name);
            WriteIndex(folder, state.Keys.ToDictionary(k => k, _ => shard));
            return Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(folder).Dispose());
        }

        Assert.Contains("climbs out of the model folder", Refused("dotdot", "../outside/stolen.safetensors").Message, StringComparison.Ordinal);
        Assert.Contains("climbs out of the model folder", Refused("dotdot-inner", "sub/../../outside/stolen.safetensors").Message, StringComparison.Ordinal);
        Assert.Contains("is an absolute path", Refused("absolute", Path.Combine(outside, "stolen.safetensors")).Message, StringComparison.Ordinal);

        // A link inside the folder to a file outside it is refused unless asked for (the hub cache's layout).
        string linked = Folder("linked");
        File.CreateSymbolicLink(Path.Combine(linked, "model-00001-of-00001.safetensors"), Path.Combine(outside, "stolen.safetensors"));
        WriteIndex(linked, state.Keys.ToDictionary(k => k, _ => "model-00001-of-00001.safetensors"));
        var link = Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(linked).Dispose());
        Assert.Contains("outside the model folder", link.Message, StringComparison.Ordinal);
        Assert.Contains("model-00001-of-00001.safetensors", link.Message, StringComparison.Ordinal);
        using (var allowed = HuggingFaceCheckpoint.Open(linked, allowLinksOutsideFolder: true))
        {
            Assert.Equal(state.Count, allowed.Names.Count);
        }

        string linkedIndex = Folder("linked-index");
        WriteIndex(outside, state.Keys.ToDictionary(k => k, _ => "stolen.safetensors"));
        File.CreateSymbolicLink(Path.Combine(linkedIndex, "model.safetensors.index.json"), Path.Combine(outside, "model.safetensors.index.json"));
        Assert.Contains("'model.safetensors.index.json' is a link", Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(linkedIndex).Dispose()).Message, StringComparison.Ordinal);

        string linkedSingle = Folder("linked-single");
        File.CreateSymbolicLink(Path.Combine(linkedSingle, "model.safetensors"), Path.Combine(outside, "stolen.safetensors"));
        Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(linkedSingle).Dispose());

        // Links that stay inside, and a folder reached through a link, are fine.
        string inner = Folder("inner-link");
        Directory.CreateDirectory(Path.Combine(inner, "blobs"));
        File.WriteAllBytes(Path.Combine(inner, "blobs", "abc"), BuildFile(state.Select(p => FromTensor(p.Key, p.Value))));
        File.CreateSymbolicLink(Path.Combine(inner, "model.safetensors"), Path.Combine("blobs", "abc"));
        string viaLink = Path.Combine(_root, "via-link");
        Directory.CreateSymbolicLink(viaLink, inner);
        using (var ok = HuggingFaceCheckpoint.Open(viaLink))
        {
            Assert.Equal(state.Count, ok.Names.Count);
        }

        // A missing shard is named.
        string missing = Folder("missing-shard");
        WriteIndex(missing, state.Keys.ToDictionary(k => k, k => k.StartsWith("visual", StringComparison.Ordinal) ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors"));
        File.WriteAllBytes(Path.Combine(missing, "model-00001-of-00002.safetensors"), BuildFile(state.Where(p => !p.Key.StartsWith("visual", StringComparison.Ordinal)).Select(p => FromTensor(p.Key, p.Value))));
        var notFound = Assert.Throws<FileNotFoundException>(() => HuggingFaceCheckpoint.Open(missing).Dispose());
        Assert.Contains("shard 'model-00002-of-00002.safetensors' does not exist", notFound.Message, StringComparison.Ordinal);

        // The index lists a tensor its shard lacks; a shard holds a tensor the index does not list.
        string disagree = Folder("disagree");
        File.WriteAllBytes(Path.Combine(disagree, "a.safetensors"), BuildFile(state.Where(p => p.Key != "lm_head.weight").Select(p => FromTensor(p.Key, p.Value)).Append(F32("stray", new long[] { 1 }, new[] { 1f }))));
        WriteIndex(disagree, state.Keys.ToDictionary(k => k, _ => "a.safetensors"));
        var disagreement = Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(disagree).Dispose());
        Assert.Contains("the index lists but their shard lacks 'lm_head.weight' (in 'a.safetensors')", disagreement.Message, StringComparison.Ordinal);
        Assert.Contains("does not list there 'stray' (in 'a.safetensors')", disagreement.Message, StringComparison.Ordinal);

        // A tensor present in two shards but listed for one.
        string doubled = Folder("doubled");
        File.WriteAllBytes(Path.Combine(doubled, "a.safetensors"), BuildFile(state.Select(p => FromTensor(p.Key, p.Value))));
        File.WriteAllBytes(Path.Combine(doubled, "b.safetensors"), BuildFile(new[] { FromTensor("lm_head.weight", state["lm_head.weight"]) }));
        WriteIndex(doubled, state.Keys.ToDictionary(k => k, _ => "a.safetensors").Append(new KeyValuePair<string, string>("model.norm.weight.unused", "b.safetensors")));
        var twoShards = Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(doubled).Dispose());
        Assert.Contains("'lm_head.weight' (in 'b.safetensors', listed for 'a.safetensors')", twoShards.Message, StringComparison.Ordinal);

        // Malformed indexes and empty folders.
        string malformed = Folder("malformed");
        File.WriteAllText(Path.Combine(malformed, "model.safetensors.index.json"), "{\"metadata\":{}}");
        Assert.Contains("'weight_map' is missing", Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(malformed)).Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(malformed, "model.safetensors.index.json"), "{\"weight_map\":{\"a\":1}}");
        Assert.Contains("entry 'a' is not a shard file name", Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(malformed)).Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(malformed, "model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"x\",\"a\":\"x\"}}");
        Assert.Contains("lists tensor 'a' twice", Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(malformed)).Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(malformed, "model.safetensors.index.json"), "{\"weight_map\":");
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.Open(malformed)).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => HuggingFaceCheckpoint.Open(Folder("empty")));
        Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceCheckpoint.Open(Path.Combine(_root, "no-such-folder")));

        // A shard's own format errors surface as the format's exception.
        string corrupt = Folder("corrupt");
        File.WriteAllBytes(Path.Combine(corrupt, "model.safetensors"), WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4));
        Assert.Contains("(truncated)", Assert.Throws<SafeTensorsFormatException>(() => HuggingFaceCheckpoint.Open(corrupt)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PeakMemoryStaysNearTheModelPlusOneTensor()
    {
        if (!File.Exists("/proc/self/clear_refs"))
        {
            return;   // The peak-resident-set reset this measurement needs is Linux's.
        }

        const int Tensors = 48;
        const long Elements = 1 << 20;   // 4 MiB each as F32: 192 MiB in all.
        using var model = new BlobModule(Tensors, Elements);
        var names = model.state_dict().Keys.ToList();
        var cases = new[] { ("BF16", Tensors * Elements * 2), ("F32", Tensors * Elements * 4) };
        foreach (var (dtype, _) in cases)
        {
            using var scope = NewDisposeScope();
            manual_seed(11);
            WriteStreaming(Path.Combine(Folder("big-" + dtype), "model.safetensors"), names.Select(n => (n, rand(Elements))).ToList(), dtype);
        }

        foreach (var (dtype, fileBytes) in cases)
        {
            using (no_grad())
            {
                foreach (var p in model.parameters())
                {
                    p.fill_(-1f);   // Touches every page, so the model is resident before the measurement.
                }
            }

            using var checkpoint = HuggingFaceCheckpoint.Open(Path.Combine(_root, "big-" + dtype));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            TrimNativeHeap();
            File.WriteAllText("/proc/self/clear_refs", "5");
            long before = StatusKiB("VmRSS");
            checkpoint.LoadInto(model, n => n);
            long growth = (StatusKiB("VmHWM") - before) * 1024;

            // Holding the checkpoint in memory a second time would add at least its size (measured: a few MB).
            Assert.True(growth < fileBytes / 2, $"{dtype}: peak resident memory grew by {growth / 1e6:F1} MB while loading a {fileBytes / 1e6:F0} MB checkpoint.");
            using var first = model.state_dict()[names[0]].min();
            Assert.True(first.item<float>() >= 0f);
        }
    }

    /// <summary>Returns the C heap's free memory to the system, so that memory freed earlier cannot hide new use.</summary>
    private static void TrimNativeHeap()
    {
        try
        {
            MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the measurement is merely less sharp.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static long StatusKiB(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Entry Entry(string name, Tensor t, string dtype) =>
        t.dtype == ScalarType.Int64 ? new Entry(name, "I64", t.shape, Raw(t)) : FromTensor(name, t, dtype);

    private static void WriteSingle(string folder, IEnumerable<Entry> entries) =>
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), BuildFile(entries));

    private static void WriteIndex(string folder, IEnumerable<KeyValuePair<string, string>> map) =>
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map.ToDictionary(p => p.Key, p => p.Value) }));

    private static Dictionary<string, float[]> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(p => p.Key, p =>
        {
            using var f = p.Value.detach().to(ScalarType.Float32);
            return f.data<float>().ToArray();
        });

    private string Folder(string name)
    {
        string folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>A small model with Qwen's parameter names: decoder, output head and vision tower (with an int64 buffer).</summary>
    private sealed class ToyQwen : nn.Module
    {
        [ComponentName(Name = "model")]
        private readonly ToyDecoder _model;

        [ComponentName(Name = "lm_head")]
        private readonly Linear _head;

        [ComponentName(Name = "visual")]
        private readonly ToyVision _visual;

        public ToyQwen(int seed)
            : base(nameof(ToyQwen))
        {
            manual_seed(seed);
            _model = new ToyDecoder();
            _head = nn.Linear(6, 10, hasBias: false);
            _visual = new ToyVision(seed);
            RegisterComponents();
        }
    }

    private sealed class ToyDecoder : nn.Module
    {
        [ComponentName(Name = "embed_tokens")]
        private readonly Embedding _embed = nn.Embedding(10, 6);

        [ComponentName(Name = "layers")]
        private readonly ModuleList<Linear> _layers = new(nn.Linear(6, 6), nn.Linear(6, 6));

        [ComponentName(Name = "norm")]
        private readonly RmsNorm _norm = new(6, 1e-6);

        public ToyDecoder()
            : base(nameof(ToyDecoder))
        {
            using (no_grad())
            {
                _norm.parameters().First().uniform_(0.5, 1.5);
            }

            RegisterComponents();
        }
    }

    private sealed class ToyVision : nn.Module
    {
        [ComponentName(Name = "proj")]
        private readonly Linear _proj = nn.Linear(4, 6);

        public ToyVision(int seed)
            : base(nameof(ToyVision))
        {
            RegisterComponents();
            register_buffer("position_ids", arange(seed, seed + 5, dtype: ScalarType.Int64));
        }
    }

    /// <summary>Many large one-dimensional parameters.</summary>
    private sealed class BlobModule : nn.Module
    {
        public BlobModule(int count, long elements)
            : base(nameof(BlobModule))
        {
            for (int i = 0; i < count; i++)
            {
                register_parameter($"blob_{i:D2}", new Parameter(empty(elements)));
            }
        }
    }
}
