using AnatomyR1.TorchSharp.Models;
using AnatomyR1.TorchSharp.Models.Qwen;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Qwen;

/// <summary>Structure and self-consistency of the Qwen2.5-VL port (numerics against the reference are in QwenReferenceTests).</summary>
[Collection(TorchCollection.Name)]
public sealed class QwenModelTests
{
    internal static QwenVLConfig TinyConfig(bool tied = true) => new()
    {
        Text = new QwenTextConfig { VocabSize = 1024, HiddenSize = 32, IntermediateSize = 64, Layers = 2, Heads = 4, KeyValueHeads = 2, MropeSection = new[] { 1, 1, 2 }, MaxPositionEmbeddings = 2048 },
        Vision = new QwenVisionConfig { Depth = 4, HiddenSize = 32, IntermediateSize = 64, Heads = 2, OutHiddenSize = 32, FullAttentionBlocks = new[] { 1, 3 } },
        TieWordEmbeddings = tied,
        ImageTokenId = 1012,
        VideoTokenId = 1013,
        VisionStartTokenId = 1009,
        VisionEndTokenId = 1010,
        EosTokenId = 1002,
        PadTokenId = 1000,
    };

    [Fact]
    public void Released_configurations_have_the_published_parameter_counts()
    {
        // The safetensors indexes of the released checkpoints state total_size in BF16 bytes: 7,509,245,952 (3B) and
        // 16,584,333,312 (7B), i.e. 3,754,622,976 and 8,292,166,656 weights.
        Assert.Equal(3_754_622_976L, QwenVLConfig.Qwen25VL3B().ParameterCount);
        Assert.Equal(8_292_166_656L, QwenVLConfig.Qwen25VL7B().ParameterCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Module_parameters_match_the_configuration_and_the_checkpoint_names(bool tied)
    {
        var config = TinyConfig(tied);
        using var model = new QwenVLModel(config);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Equal(config.ParameterCount, model.parameters().Sum(p => p.numel()));
        foreach (string expected in new[]
        {
            "model.embed_tokens.weight", "model.norm.weight", "model.layers.1.self_attn.q_proj.bias", "model.layers.1.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
            "visual.patch_embed.proj.weight", "visual.blocks.3.attn.qkv.bias", "visual.blocks.0.attn.proj.weight", "visual.blocks.2.mlp.down_proj.bias",
            "visual.blocks.0.norm1.weight", "visual.blocks.0.norm2.weight", "visual.merger.ln_q.weight", "visual.merger.mlp.0.weight", "visual.merger.mlp.2.bias",
        })
        {
            Assert.Contains(expected, names);
        }

        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.mlp.gate_proj.bias", names);
        Assert.Equal(!tied, names.Contains("lm_head.weight"));
        Assert.Equal(new long[] { 32, 3, 2, 14, 14 }, model.named_parameters().First(p => p.name == "visual.patch_embed.proj.weight").parameter.shape);
    }

    [Fact]
    public void Window_index_follows_the_reference_rule()
    {
        // A 16 × 20 patch grid is 8 × 10 merged cells; windows are 4 × 4 cells, so 2 × 3 windows, the last column 2 wide.
        var config = TinyConfig().Vision;
        var (index, bounds) = QwenVisionTransformer.WindowIndex(new[] { new[] { 1, 16, 20 } }, config);
        Assert.Equal(80, index.Length);
        Assert.Equal(new[] { 0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33 }, index.Take(16));
        Assert.Equal(new[] { 8, 9, 18, 19, 28, 29, 38, 39 }, index.Skip(32).Take(8));
        Assert.Equal(new[] { 0, 64, 128, 160, 224, 288, 320 }, bounds);
        Assert.Equal(Enumerable.Range(0, 80), index.OrderBy(i => i));

        // Two images: the second's cells are offset by the first's, and a 4 × 4 grid (2 × 2 cells) is one window.
        var (two, twoBounds) = QwenVisionTransformer.WindowIndex(new[] { new[] { 1, 4, 4 }, new[] { 1, 8, 8 } }, config);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 }, two);
        Assert.Equal(new[] { 0, 16, 80 }, twoBounds);
    }

    [Fact]
    public void Patch_positions_walk_merge_groups_in_raster_order()
    {
        var (rows, cols) = QwenVisionTransformer.PatchPositions(new[] { new[] { 1, 4, 4 } }, 2);
        Assert.Equal(new[] { 0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3 }, rows);
        Assert.Equal(new[] { 0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3 }, cols);
    }

    [Fact]
    public void Rope_index_matches_hand_computed_positions_with_left_padding()
    {
        var config = TinyConfig();
        // Row 0: pad pad | 5 S I I I I E 6 7   (image grid 1 × 4 × 4 patches → 2 × 2 merged cells)
        // Row 1: 5 6 7 8 9 10 11 12 13 14 15   (text only)
        const long S = 1009, I = 1012, E = 1010;
        long[] ids = { 1000, 1000, 5, S, I, I, I, I, E, 6, 7, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
        long[] mask = { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
        var (positions, deltas) = QwenRopeIndex.Compute(ids, mask, 2, 11, new[] { new[] { 1, 4, 4 } }, config);
        long[] t0 = positions.Take(11).ToArray();
        long[] h0 = positions.Skip(22).Take(11).ToArray();
        long[] w0 = positions.Skip(44).Take(11).ToArray();
        Assert.Equal(new long[] { 1, 1, 0, 1, 2, 2, 2, 2, 4, 5, 6 }, t0);
        Assert.Equal(new long[] { 1, 1, 0, 1, 2, 2, 3, 3, 4, 5, 6 }, h0);
        Assert.Equal(new long[] { 1, 1, 0, 1, 2, 3, 2, 3, 4, 5, 6 }, w0);
        Assert.Equal(6 + 1 - 11, deltas[0]);
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), positions.Skip(11).Take(11));
        Assert.Equal(0, deltas[1]);
    }

    [Fact]
    public void Cached_decoding_equals_full_recomputation_and_padding_and_prefix_sharing_change_nothing()
    {
        torch.manual_seed(7);
        using var model = new QwenVLModel(TinyConfig(tied: false));
        model.eval();
        using var noGrad = no_grad();
        var grid = new[] { 1, 4, 4 };
        using var patches = randn(16, 1176);
        long[] prompt = { 1001, 17, 1009, 1012, 1012, 1012, 1012, 1010, 40, 41 };
        long[] continuation = { 300, 301, 302 };

        // Full recomputation over prompt + continuation, one row, no padding.
        long[] all = prompt.Concat(continuation).ToArray();
        using var fullIds = tensor(all, new long[] { 1, all.Length });
        using var fullMask = ones_like(fullIds);
        using var full = model.Logits(model.Prefill(patches, new[] { grid }, fullIds, fullMask));

        // Prefill the prompt, then decode the continuation one token at a time.
        using var cache = new KvCache(2);
        using var ids = tensor(prompt, new long[] { 1, prompt.Length });
        using var first = model.Logits(model.Prefill(patches, new[] { grid }, ids, ones_like(ids), cache));
        Assert.True(allclose(first, full.narrow(1, 0, prompt.Length), 1e-5, 1e-5));
        for (int i = 0; i < continuation.Length; i++)
        {
            using var next = tensor(new[] { continuation[i] }, new long[] { 1, 1 });
            using var step = model.Logits(model.Decode(next, cache));
            Assert.True(allclose(step.select(1, 0), full.select(1, prompt.Length + i), 1e-5, 1e-5), $"decode step {i}");
        }

        // The same row left-padded by three slots beside a longer text-only row.
        long[] other = Enumerable.Range(50, 13).Select(v => (long)v).ToArray();
        long[] padded = new long[] { 1000, 1000, 1000 }.Concat(prompt).ToArray();
        long[] batchIds = padded.Concat(other).ToArray();
        long[] batchMask = new long[] { 0, 0, 0 }.Concat(Enumerable.Repeat(1L, prompt.Length + other.Length)).ToArray();
        using var bIds = tensor(batchIds, new long[] { 2, 13 });
        using var bMask = tensor(batchMask, new long[] { 2, 13 });
        using var batchCache = new KvCache(2);
        using var batch = model.Logits(model.Prefill(patches, new[] { grid }, bIds, bMask, batchCache));
        Assert.True(allclose(batch[0].narrow(0, 3, prompt.Length), first[0], 1e-5, 1e-5));
        using var nextBoth = tensor(new[] { continuation[0], 77L }, new long[] { 2, 1 });
        using var batchStep = model.Logits(model.Decode(nextBoth, batchCache));
        Assert.True(allclose(batchStep[0, 0], full[0, prompt.Length], 1e-5, 1e-5));

        // One prefill expanded to three rollouts equals three separate prefills.
        using var shared = new KvCache(2);
        using var sharedFirst = model.Logits(model.Prefill(patches, new[] { grid }, ids, ones_like(ids), shared));
        shared.Expand(3);
        using var three = tensor(continuation, new long[] { 3, 1 });
        using var expanded = model.Logits(model.Decode(three, shared));
        for (int r = 0; r < 3; r++)
        {
            using var separate = new KvCache(2);
            using var _ = model.Prefill(patches, new[] { grid }, ids, ones_like(ids), separate);
            using var one = tensor(new[] { continuation[r] }, new long[] { 1, 1 });
            using var alone = model.Logits(model.Decode(one, separate));
            Assert.True(allclose(expanded[r], alone[0], 1e-5, 1e-5), $"rollout {r}");
        }
    }

    [Fact]
    public void Image_token_count_mismatch_is_a_clear_error()
    {
        using var model = new QwenVLModel(TinyConfig());
        using var noGrad = no_grad();
        using var patches = randn(16, 1176);
        using var ids = tensor(new long[] { 1009, 1012, 1012, 1010 }, new long[] { 1, 4 });
        var ex = Assert.Throws<ArgumentException>(() => model.Prefill(patches, new[] { new[] { 1, 4, 4 } }, ids, ones_like(ids)));
        Assert.Contains("image", ex.Message);
    }

    [Fact]
    public void Config_reads_both_layouts_and_rejects_bad_fields_by_name()
    {
        const string vision = "\"vision_config\": {\"depth\": 4, \"hidden_size\": 32, \"intermediate_size\": 64, \"num_heads\": 2, \"out_hidden_size\": 32, \"fullatt_block_indexes\": [1, 3]}";
        const string text = "\"vocab_size\": 1024, \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": [1, 1, 2]}";
        var flat = QwenVLConfig.Parse("{\"model_type\": \"qwen2_5_vl\", \"image_token_id\": 1012, \"vision_start_token_id\": 1009, \"video_token_id\": 1013, \"vision_end_token_id\": 1010, \"tie_word_embeddings\": true, " + text + ", " + vision + "}");
        var nested = QwenVLConfig.Parse("{\"model_type\": \"qwen2_5_vl\", \"image_token_id\": 1012, \"vision_start_token_id\": 1009, \"video_token_id\": 1013, \"vision_end_token_id\": 1010, \"text_config\": {" + text + ", \"tie_word_embeddings\": true}, " + vision + "}");
        Assert.Equal(flat.ParameterCount, nested.ParameterCount);
        Assert.Equal(TinyConfig().ParameterCount, flat.ParameterCount);
        Assert.True(nested.TieWordEmbeddings);
        Assert.Equal(new[] { 1, 1, 2 }, nested.Text.MropeSection);
        var roundTrip = QwenVLConfig.Parse(flat.ToJson());
        Assert.Equal(flat.ParameterCount, roundTrip.ParameterCount);

        var huge = Assert.Throws<InvalidDataException>(() => QwenVLConfig.Parse("{" + text.Replace("\"hidden_size\": 32", "\"hidden_size\": 99999999") + ", " + vision + "}", "big/config.json"));
        Assert.Contains("big/config.json", huge.Message);
        Assert.Contains("hidden_size", huge.Message);
        var sections = Assert.Throws<InvalidDataException>(() => QwenVLConfig.Parse("{" + text.Replace("[1, 1, 2]", "[1, 1, 1]") + ", " + vision + "}"));
        Assert.Contains("mrope_section", sections.Message);
        var missing = Assert.Throws<InvalidDataException>(() => QwenVLConfig.Parse("{" + text + "}"));
        Assert.Contains("vision_config", missing.Message);
    }
}
