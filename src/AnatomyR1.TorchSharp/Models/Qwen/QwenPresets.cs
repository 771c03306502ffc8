using AnatomyR1.TorchSharp.Runtime;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Small Qwen2.5-VL configurations trained from scratch (no pretrained weights), registered as presets of the
/// <c>qwen2_5_vl</c> family so that <c>PolicyRegistry.Create</c>, <c>anatomy-r1 warmstart --preset</c> and the
/// estimators build them.
/// <list type="bullet">
/// <item><c>qwen-tiny</c>: decoder width 128, 4 layers, 4 query / 2 key-value heads, SwiGLU 352; vision tower width 64,
/// 2 blocks (the second with full attention); images resized to exactly 84 × 84 (6 × 6 patches, 3 × 3 merged tokens,
/// aligned with the synthetic scenes' 3 × 3 grid); a 1,022-token byte-level BPE vocabulary (the first 1,000 tokens of
/// Qwen2.5's vocabulary and its 22 special tokens), embedded in this assembly. About 0.9 M weights.</item>
/// </list>
/// </summary>
public static class QwenPresets
{
    /// <summary>The tiny preset's name.</summary>
    public const string Tiny = "qwen-tiny";

    /// <summary>The image side of the tiny preset (84 px: 3 × 3 merged tokens).</summary>
    public const int TinyImageSide = 84;

    /// <summary>The names of the presets.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { Tiny };

    /// <summary>The tiny preset's configuration.</summary>
    /// <returns>The configuration.</returns>
    public static QwenVLConfig TinyConfig() => new()
    {
        Text = new QwenTextConfig { VocabSize = 1024, HiddenSize = 128, IntermediateSize = 352, Layers = 4, Heads = 4, KeyValueHeads = 2, MropeSection = new[] { 4, 6, 6 }, MaxPositionEmbeddings = 4096 },
        Vision = new QwenVisionConfig { Depth = 2, HiddenSize = 64, IntermediateSize = 128, Heads = 2, OutHiddenSize = 128, FullAttentionBlocks = new[] { 1 } },
        TieWordEmbeddings = true,
        ImageTokenId = 1012,
        VideoTokenId = 1013,
        VisionStartTokenId = 1009,
        VisionEndTokenId = 1010,
        EosTokenId = 1002,
        PadTokenId = 1000,
    };

    /// <summary>The tiny preset's tokenizer (the embedded 1,022-token vocabulary).</summary>
    /// <returns>The tokenizer.</returns>
    public static Qwen2Tokenizer TinyTokenizer()
    {
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-tokenizer-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            using (var resource = typeof(QwenPresets).Assembly.GetManifestResourceStream("AnatomyR1.TorchSharp.Models.Qwen.tiny-tokenizer.json")
                ?? throw new InvalidOperationException("The embedded tiny Qwen tokenizer is missing from the assembly."))
            using (var file = File.Create(Path.Combine(folder, Qwen2Tokenizer.TokenizerFile)))
            {
                resource.CopyTo(file);
            }

            return Qwen2Tokenizer.Load(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Creates a preset with freshly initialised weights.</summary>
    /// <param name="preset">The preset name (<see cref="Names"/>).</param>
    /// <param name="device">The device.</param>
    /// <param name="seed">The initialisation seed.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentException">The preset is unknown.</exception>
    public static QwenVLPolicy Create(string preset, Device device, long seed)
    {
        if (preset != Tiny)
        {
            throw new ArgumentException($"Unknown Qwen2.5-VL preset '{preset}'; known: {string.Join(", ", Names)}.", nameof(preset));
        }

        TorchRuntime.EnsureThreads();
        TorchRuntime.Seed(seed);
        var model = new QwenVLModel(TinyConfig());
        InitialiseLikeReference(model);
        long pixels = (long)TinyImageSide * TinyImageSide;
        var processor = new QwenImageProcessor(new QwenImageProcessorOptions { MinPixels = pixels, MaxPixels = pixels });
        return new QwenVLPolicy(model, TinyTokenizer(), processor, device);
    }

    /// <summary>
    /// The reference's initialisation: linear, convolution and embedding weights drawn from N(0, 0.02²), biases zero,
    /// norm weights one.
    /// </summary>
    /// <param name="model">The model.</param>
    public static void InitialiseLikeReference(QwenVLModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith("norm1.weight", StringComparison.Ordinal)
                || name.EndsWith("norm2.weight", StringComparison.Ordinal) || name.EndsWith("ln_q.weight", StringComparison.Ordinal)
                || name.EndsWith("layernorm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(1.0);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                parameter.normal_(0, 0.02);
            }
        }
    }
}
