using System.Buffers.Binary;
using System.IO.Compression;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using SkiaSharp;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

[Collection(TorchCollection.Name)]
public sealed class QwenImageProcessorTests : IDisposable
{
    private static readonly QwenImageProcessorOptions NoUpscale = new() { MinPixels = 28 * 28 };

    private readonly string _folder = SafeTensorsTestFiles.TempFolder("anatomyr1-qwenimg");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // Golden values worked out from the reference formula (factor 28):
    //  28×28: both round to 28, 784 < 3136 → β = √(3136/784) = 2 → ceil(28·2/28)·28 = 56.
    //  70×70: 70/28 = 2.5 rounds to 2 (Python rounds half to even) → 56×56 = 3136, not below min → 56.
    //  98×98: 3.5 rounds to 4 → 112.  126×126: 4.5 rounds to 4 → 112.  70×98: 2.5 → 2, 3.5 → 4.
    //  1000×1000, max 1,003,520: 35.71 → 36 → 1008² = 1,016,064 > max → β = √(10⁶/1,003,520) = 0.99825
    //    → floor(1000/β/28) = floor(35.78) = 35 → 980.
    //  1000×1000, max 602,112 (the paper's cap): β = 1.28873 → floor(27.71) = 27 → 756.
    //  480×640: 17.14 → 17 → 476, 22.86 → 23 → 644; 306,544 pixels is within bounds.
    //  3000×4000, max 602,112: β = 4.4638 → floor(24.00…) = 24 → 672, floor(32.0…) = 32 → 896.
    //  1080×1920, max 602,112: 1092×1932 too many → β = 1.85577 → floor(20.78) = 20 → 560, floor(36.95) = 36 → 1008.
    //  28×5600 (ratio exactly 200, allowed): already multiples, 156,800 pixels.
    //  28×5600, max 3136: β = √50 = 7.0711 → floor(0.14) = 0 → at least one factor: 28; floor(28.28) = 28 → 784.
    //  100×30, min 200,000: 112×28 too few → β = √(200000/3000) = 8.165 → ceil(29.16) = 30 → 840, ceil(8.75) = 9 → 252.
    //  14×14 with factor 14: 14×14 = 196 < 3136 → β = 4 → 56.
    [Theory]
    [InlineData(28, 28, 28, 3136, 1003520, 56, 56)]
    [InlineData(42, 42, 28, 3136, 1003520, 56, 56)]
    [InlineData(70, 70, 28, 3136, 1003520, 56, 56)]
    [InlineData(98, 98, 28, 3136, 1003520, 112, 112)]
    [InlineData(126, 126, 28, 3136, 1003520, 112, 112)]
    [InlineData(70, 98, 28, 3136, 1003520, 56, 112)]
    [InlineData(1000, 1000, 28, 3136, 1003520, 980, 980)]
    [InlineData(1000, 1000, 28, 3136, 602112, 756, 756)]
    [InlineData(480, 640, 28, 3136, 1003520, 476, 644)]
    [InlineData(480, 640, 28, 3136, 12845056, 476, 644)]
    [InlineData(3000, 4000, 28, 3136, 12845056, 2996, 4004)]
    [InlineData(3000, 4000, 28, 3136, 602112, 672, 896)]
    [InlineData(1080, 1920, 28, 3136, 602112, 560, 1008)]
    [InlineData(2048, 2048, 28, 3136, 602112, 756, 756)]
    [InlineData(512, 512, 28, 3136, 602112, 504, 504)]
    [InlineData(224, 224, 28, 3136, 1003520, 224, 224)]
    [InlineData(28, 5600, 28, 3136, 1003520, 28, 5600)]
    [InlineData(28, 5600, 28, 3136, 3136, 28, 784)]
    [InlineData(100, 30, 28, 200000, 1003520, 840, 252)]
    [InlineData(14, 14, 14, 3136, 1003520, 56, 56)]
    public void SmartResizeReproducesTheReference(int height, int width, int factor, long minPixels, long maxPixels, int expectedHeight, int expectedWidth)
    {
        Assert.Equal((expectedHeight, expectedWidth), QwenImageProcessor.SmartResize(height, width, factor, minPixels, maxPixels));
    }

    [Theory]
    [InlineData(27, 100, "height:27 or width:100 must be larger than factor:28")]
    [InlineData(100, 10, "must be larger than factor:28")]
    [InlineData(28, 5601, "absolute aspect ratio must be smaller than 200")]
    [InlineData(5601, 28, "absolute aspect ratio must be smaller than 200")]
    public void SmartResizeRefusesWhatTheReferenceRefuses(int height, int width, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => QwenImageProcessor.SmartResize(height, width, 28, 3136, 1003520));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResizeIsACopyWhenTheSizeIsUnchanged()
    {
        var rgb = Random(5, 4 * 3 * 3);
        var same = QwenImageProcessor.ResizeBicubicRgb(rgb, 4, 3, 4, 3);
        Assert.Equal(rgb, same);
        Assert.NotSame(rgb, same);
    }

    [Fact]
    public void DownscaleFourByFourToTwoByTwoMatchesPillowWorkedByHand()
    {
        // Scale 2 widens the cubic's support to 4 input pixels: output 0 is centred at 1.0 and reads inputs 0..3
        // at distances (x + 0.5 − 1)/2 = −0.25, 0.25, 0.75, 1.25, weights 0.8671875, 0.8671875, 0.2265625, −0.0703125,
        // sum 1.890625, normalised and scaled by 2^22: 1923834, 1923834, 502623, −155987 (output 1 mirrors them).
        // Row [0, 100, 200, 255]: (100·1923834 + 200·502623 − 255·155987 + 2^21) >> 22 = 60, and
        // (−155987·0 + 502623·100 + 1923834·(200 + 255) + 2^21) >> 22 = 221; the other rows give [62, 143],
        // [213, 131], [5, 5]; the vertical pass with the same weights gives [72, 177] over [106, 69].
        int[,] gray = { { 0, 100, 200, 255 }, { 10, 60, 110, 160 }, { 250, 200, 150, 100 }, { 5, 5, 5, 5 } };
        var rgb = new byte[4 * 4 * 3];
        for (int i = 0; i < 16; i++)
        {
            rgb[3 * i] = rgb[(3 * i) + 1] = rgb[(3 * i) + 2] = (byte)gray[i / 4, i % 4];
        }

        var output = QwenImageProcessor.ResizeBicubicRgb(rgb, 4, 4, 2, 2);
        Assert.Equal(new byte[] { 72, 72, 72, 177, 177, 177, 106, 106, 106, 69, 69, 69 }, output);
    }

    [Fact]
    public void UpscaleTwoByTwoToThreeByThreeMatchesPillowWorkedByHand()
    {
        // Scale 2/3 keeps the support at 2: output 0 is centred at 1/3 and reads inputs 0 and 1 at distances 1/6 and
        // 7/6, weights 0.9375 and −0.0578704, normalised 1.0657895 and −0.0657895 → 4470245 and −275941; output 1 is
        // centred at 1 with weights ½, ½ → 2097152 each; output 2 mirrors output 0.
        // Row [50, 200]: (50·4470245 − 200·275941 + 2^21) >> 22 = 40, (250·2097152 + 2^21) >> 22 = 125, 210.
        // Row [200, 50] → [210, 125, 40]. Columns [40, 210] → 29 (40·4470245 − 210·275941 + 2^21 = 122959342,
        // >> 22 = 29), 125, 221; [125, 125] → 125 three times. Overshoots clip: [0, 255] would give 0, 128, 255.
        var output = QwenImageProcessor.ResizeBicubicRgb(new byte[] { 50, 0, 255, 200, 255, 0, 200, 128, 0, 50, 64, 255 }, 2, 2, 3, 3);
        Assert.Equal(new byte[] { 29, 0, 255, 125, 130, 128, 221, 255, 0, 125, 66, 128, 125, 112, 128, 125, 158, 128, 221, 141, 0, 125, 94, 128, 29, 47, 255 }, output);
    }

    // Recorded with Pillow 9.4: Image.frombytes("RGB", (w, h), input).resize((w2, h2), Image.BICUBIC).tobytes().
    [Theory]
    [InlineData(7, 5, 3, 4, "a31c06bd463e3923bc1aadbde48b16976c080717373b819a068f32b7a6b38b6b38729647cfde01c2ce28b26c57472737f5c3561a1761185bd8589a43ce0bba75891ff9ec60148d4bd4a09ee2dc5c9331b4110ba93ac54afc14da3bdd19614774a2d55d295e5a35ab44", "8041516f837f8471115c7b647375649fa2469d923e868e7b7241a48e8b737f99604f8163")]
    [InlineData(7, 5, 11, 9, "b3efaea5129ba22b88ba3e29766145fdeca3b08e38af53d7c4c60e3ad208ce5066441036e9f191e0b75036a77f65e2eaa4752443233fbe8f8943bf956de595665c38ffff23827e17c10cdc1c27a028caae6c9810626198ff778740f88ddcf102aeb81daee289c044c4", "b4ffabac93aaa200a6a80f9fb3286bb83d24865130968c61fae8a4d5b968a7832eb7cac2b68b9cad3f6a885568995656c4453b7c3834826f56f6e99ce2c56abd9135b455e6c38085bebb0852d0086ba52ed351636c1040614148e7e88ff1d96ee0ad467669bd879f9e93df666bc91d6d8a1b8d3f518234548569669fd38eadde85b3d17533a37746c5b66bdee39e9552834d1b43233f9a6471aaa19149bb9555d89670e89543784779bc66bafa7aa69825923c3e8104a56e2aaa4c70a722bbaa43c76b65c13a5c4f3eb19f32fff62099ad13925c5dc91dd25b18b016549b2dc6b058b05677890e59587cb07472ffa36474ce6c75ce5fd9b144a3913a7b9f5586dc909c9394ab4f8d5760a1ad5e99f9758f5fe0a064ff5edeff00cdd700b6cb2db8e87dc284b9c832d8")]
    [InlineData(13, 1, 5, 3, "a4571c4b6f287400f4b8e0b843f880c32d81e91bdea04cd7a3819b32275fc3298af4c7ec87eb00", "774e5b84a8a9c142bb824792bda780774e5b84a8a9c142bb824792bda780774e5b84a8a9c142bb824792bda780")]
    [InlineData(5, 6, 5, 3, "99527d041ced5ce0fcd4ce4e3d0e3de091f21415bb7cd011fac288c42020a879f28c2a4387df9b6cf636ed8ac1bab033b64f66feaba65f70e684731e3f39105605968d3a96380112b5a10f3a11e708dc5412833c47ab7c368a21", "bc71c61419c769dd88dfd3618d2041ae918c942e62beb8906ea082c27b6046316d3c70746262703f525a729312")]
    [InlineData(6, 5, 3, 5, "b9efe19293793ec879ce68301818a86e5a6c6977ddba0daca7fba5190f67ba56ccdc1b3f31308972236c2e47763fdfec1371cedcdb8c190ca6ff8ad603f817edc0d93c2a687c7b36dd66e70f2a6100fc6343edc8c874496cb2f5", "99c7ab7a885c533880985ac46f7791b72d804f25753484af73b2b8795caa83ca816f596069579c29d781979ba7")]
    [InlineData(9, 9, 4, 4, "bbfec88ea9b77c27304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc3c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c7550edc0ef1202759fff90ff19128936814321ee59e111e13e5e482870d58bb44d9cfbfccea78702aad18d4ceea91af0e022431de31bbe8d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa4329bd718db46d8f021c13f1e2b0e7268b09d55e958d256e200a4e5de6eecbf8dc0ae65b35ae3faa1a5ac78fe2df68f99ebf27ecee3cdd29f9cccf2de169062dbcec55c8ee69cdabddbccf3f4428c9b31b61df09db78", "8360ac3d5e9b7078816f966bb344617a85636f6f8d8486ae9d806391947c545a5fb05993625499a6999095a58a55b8a7")]
    public void ResizeEqualsPillowOnRecordedImages(int width, int height, int newWidth, int newHeight, string input, string expected)
    {
        Assert.Equal(Convert.FromHexString(expected), QwenImageProcessor.ResizeBicubicRgb(Convert.FromHexString(input), width, height, newWidth, newHeight));
    }

    [Fact]
    public void PatchesAreOrderedAsTheReferenceReshapeAndPermuteOrdersThem()
    {
        const int H = 56, W = 84;
        var rgb = Random(11, H * W * 3);
        var processor = new QwenImageProcessor(NoUpscale);
        var prepared = processor.Prepare(rgb, W, H, "random");
        Assert.Equal(new long[] { (H / 14) * (W / 14), 1176 }, prepared.Shape);
        Assert.Equal(new[] { 1, 4, 6 }, prepared.Grid);
        Assert.Equal(6, prepared.TokenCount);

        float Norm(int y, int x, int c)
        {
            float mean = (float)QwenImageProcessorOptions.ClipMean[c], std = (float)QwenImageProcessorOptions.ClipStd[c];
            return ((float)(rgb[(((y * W) + x) * 3) + c] * (1.0 / 255)) - mean) / std;
        }

        float At(int row, int col) => prepared.Values[(row * 1176) + col];

        // Rows run through 2 × 2 merge groups: patches (0,0), (0,1), (1,0), (1,1), then the group to the right.
        Assert.Equal(Norm(0, 0, 0), At(0, 0));
        Assert.Equal(Norm(0, 14, 0), At(1, 0));
        Assert.Equal(Norm(14, 0, 0), At(2, 0));
        Assert.Equal(Norm(14, 14, 0), At(3, 0));
        Assert.Equal(Norm(0, 28, 0), At(4, 0));
        Assert.Equal(Norm(28, 0, 0), At(12, 0));
        Assert.Equal(Norm(42, 70, 0), At(23, 0));

        // Columns: channel, then frame (a still image repeated), then the patch's rows and columns.
        Assert.Equal(Norm(1, 1, 0), At(0, 15));
        Assert.Equal(Norm(0, 0, 0), At(0, 196));
        Assert.Equal(Norm(0, 0, 1), At(0, 392));
        Assert.Equal(Norm(13, 13, 1), At(0, 392 + 196 + (14 * 13) + 13));
        Assert.Equal(Norm(1, 55, 2), At(5, 784 + 27));
        Assert.Equal(Norm(55, 83, 2), At(23, 1175));

        // The whole matrix equals the reference's own steps done with libtorch: rescale in float64 and cast to
        // float32, normalise in float32, repeat to 2 frames, reshape to 9 dimensions, permute, flatten.
        Assert.Equal(Reference(rgb, W, H, NoUpscale), prepared.Values);
    }

    [Fact]
    public void TheWholePipelineMatchesTheReferenceStepsAfterResizing()
    {
        // 45×60 rounds to 56×56 (1.61 → 2, 2.14 → 2): Pillow's bicubic resize, then the reference's float steps.
        var rgb = Random(12, 45 * 60 * 3);
        var options = new QwenImageProcessorOptions();
        var prepared = new QwenImageProcessor(options).Prepare(rgb, 60, 45);
        Assert.Equal(new[] { 1, 4, 4 }, prepared.Grid);
        Assert.Equal(4, prepared.TokenCount);
        Assert.Equal(Reference(QwenImageProcessor.ResizeBicubicRgb(rgb, 60, 45, 56, 56), 56, 56, options), prepared.Values);

        // Switches: no rescale and no normalisation leave the bytes as floats.
        var raw = new QwenImageProcessor(NoUpscale with { DoRescale = false, DoNormalize = false }).Prepare(Random(13, 28 * 28 * 3), 28, 28);
        var bytes = Random(13, 28 * 28 * 3);
        Assert.Equal(bytes[0], raw.Values[0]);
        Assert.Equal(bytes[(((1 * 28) + 15) * 3) + 2], raw.Values[(1 * 1176) + 784 + 14 + 1]);
        Assert.All(raw.Values, v => Assert.True(v == MathF.Round(v) && v is >= 0 and <= 255));

        // Rescale without normalisation: value · (1/255) in float64, cast to float32.
        var scaled = new QwenImageProcessor(NoUpscale with { DoNormalize = false }).Prepare(bytes, 28, 28);
        Assert.Equal((float)(bytes[0] / 255.0), scaled.Values[0]);
    }

    [Fact]
    public void FilesBytesAndPixelsPrepareIdentically()
    {
        const int W = 60, H = 45;
        var rgb = Random(21, W * H * 3);
        var planar = new float[3 * W * H];
        for (int i = 0; i < W * H; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                planar[(c * W * H) + i] = rgb[(3 * i) + c] / 255f;
            }
        }

        byte[] png = Png(W, H, (x, y) => new SKColor(rgb[3 * ((y * W) + x)], rgb[(3 * ((y * W) + x)) + 1], rgb[(3 * ((y * W) + x)) + 2]));
        string file = Path.Combine(_folder, "image.png");
        File.WriteAllBytes(file, png);
        var processor = new QwenImageProcessor();
        var fromBytes = processor.Prepare(rgb, W, H);
        Assert.Equal(fromBytes.Values, processor.Prepare(PolicyImage.FromPixels(planar, W, H)).Values);
        Assert.Equal(fromBytes.Values, processor.Prepare(PolicyImage.FromBytes(png, "png")).Values);
        var fromFile = processor.Prepare(PolicyImage.FromFile(file));
        Assert.Equal(fromBytes.Values, fromFile.Values);
        Assert.Equal(fromBytes.Grid, fromFile.Grid);
        Assert.Equal(fromBytes.Shape, fromFile.Shape);
    }

    [Fact]
    public void TransparencyIsCompositedOntoWhite()
    {
        // 28×28 stays 28×28 with min_pixels 784. Pixel (0,0) is fully transparent red, (0,1) is red 200 at alpha 128,
        // everything else opaque black. Pillow's alpha_composite onto white gives 255, round(200·128/255) + 127 = 227.
        byte[] png = Png(28, 28, (x, y) => (x, y) switch { (0, 0) => new SKColor(255, 0, 0, 0), (1, 0) => new SKColor(200, 0, 0, 128), _ => new SKColor(0, 0, 0) });
        var composited = new QwenImageProcessor(NoUpscale with { DoRescale = false, DoNormalize = false }).Prepare(PolicyImage.FromBytes(png));
        Assert.Equal(255f, composited.Values[0]);
        Assert.Equal(255f, composited.Values[392]);
        Assert.Equal(227f, composited.Values[1]);
        Assert.Equal(127f, composited.Values[392 + 1]);
        Assert.Equal(0f, composited.Values[2]);

        // Without conversion the decoded (premultiplied) colours are used as they are.
        var plain = new QwenImageProcessor(NoUpscale with { DoRescale = false, DoNormalize = false, DoConvertRgb = false }).Prepare(PolicyImage.FromBytes(png));
        Assert.Equal(0f, plain.Values[0]);
        Assert.Equal(100f, plain.Values[1]);
    }

    [Fact]
    public void OversizedTooSmallAndUndecodableImagesAreRefusedNamingThem()
    {
        var processor = new QwenImageProcessor();
        var bomb = Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromBytes(PngHeader(60000, 60000), "bomb.png")));
        Assert.Contains("60000×60000", bomb.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPixels", bomb.Message, StringComparison.Ordinal);

        long limit = PolicyImage.MaxPixels;
        try
        {
            PolicyImage.MaxPixels = 1000;
            var big = Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromPixels(new float[3 * 40 * 40], 40, 40, "big pixels")));
            Assert.Contains("big pixels", big.Message, StringComparison.Ordinal);
            Assert.Contains("MaxPixels", big.Message, StringComparison.Ordinal);
        }
        finally
        {
            PolicyImage.MaxPixels = limit;
        }

        var small = Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromPixels(new float[3 * 20 * 30], 30, 20, "thumbnail")));
        Assert.Contains("thumbnail", small.Message, StringComparison.Ordinal);
        Assert.Contains("height:20 or width:30 must be larger than factor:28", small.Message, StringComparison.Ordinal);
        var thin = Assert.Throws<InvalidDataException>(() => processor.Prepare(new byte[3 * 28 * 5700], 5700, 28, "strip"));
        Assert.Contains("aspect ratio", thin.Message, StringComparison.Ordinal);

        var noResize = new QwenImageProcessor(new QwenImageProcessorOptions { DoResize = false });
        var odd = Assert.Throws<InvalidDataException>(() => noResize.Prepare(new byte[3 * 30 * 56], 56, 30, "odd"));
        Assert.Contains("multiples of 28", odd.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { 1, 2, 4 }, noResize.Prepare(new byte[3 * 28 * 56], 56, 28).Grid);
        Assert.Throws<FileNotFoundException>(() => processor.Prepare(PolicyImage.FromFile(Path.Combine(_folder, "missing.png"))));
        Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromBytes(new byte[] { 1, 2, 3 }, "junk")));
    }

    [Fact]
    public void CollateConcatenatesImagesOfDifferentSizes()
    {
        var processor = new QwenImageProcessor(NoUpscale);
        var a = processor.Prepare(Random(31, 56 * 56 * 3), 56, 56);
        var b = processor.Prepare(Random(32, 56 * 84 * 3), 84, 56);
        using var batch = processor.Collate(new[] { a, b }, CPU);
        Assert.Equal(new long[] { 16 + 24, 1176 }, batch.Values.shape);
        Assert.Equal(ScalarType.Float32, batch.Values.dtype);
        Assert.Equal(a.Values.Concat(b.Values), batch.Values.data<float>().ToArray());
        Assert.Equal(new[] { 4, 6 }, batch.TokenCounts);
        Assert.False(batch.Uniform);
        Assert.Equal(new[] { 1, 4, 6 }, batch.Images[1].Grid);

        var foreign = new PreparedImage(new float[3 * 8 * 8], new long[] { 3, 8, 8 }, 4);
        var ex = Assert.Throws<ArgumentException>(() => processor.Collate(new[] { a, foreign }, CPU));
        Assert.Contains("Image 1", ex.Message, StringComparison.Ordinal);
        using var empty = processor.Collate(Array.Empty<PreparedImage>(), CPU);
        Assert.Equal(new long[] { 0, 1176 }, empty.Values.shape);
    }

    [Fact]
    public void OptionsLoadFromAPreprocessorConfig()
    {
        // The published Qwen2.5-VL file's fields.
        File.WriteAllText(Path.Combine(_folder, "preprocessor_config.json"), """
            {
              "min_pixels": 3136,
              "max_pixels": 12845056,
              "patch_size": 14,
              "temporal_patch_size": 2,
              "merge_size": 2,
              "image_mean": [0.48145466, 0.4578275, 0.40821073],
              "image_std": [0.26862954, 0.26130258, 0.27577711],
              "image_processor_type": "Qwen2VLImageProcessor",
              "processor_class": "Qwen2_5_VLProcessor"
            }
            """);
        var options = QwenImageProcessorOptions.Load(_folder);
        Assert.Equal(3136, options.MinPixels);
        Assert.Equal(12845056, options.MaxPixels);
        Assert.Equal(12845056, options.EffectiveMaxPixels);
        Assert.Equal(QwenImageProcessorOptions.ClipMean, options.ImageMean);
        Assert.Equal(1176, options.PatchValues);
        Assert.Equal((2996, 4004), new QwenImageProcessor(options).TargetSize(3000, 4000));

        // The paper's cap lowers the bound.
        var capped = options with { MaxPixelsCap = 602112 };
        Assert.Equal(602112, capped.EffectiveMaxPixels);
        Assert.Equal((672, 896), new QwenImageProcessor(capped).TargetSize(3000, 4000));
        Assert.Equal(12845056, (options with { MaxPixelsCap = 20_000_000 }).EffectiveMaxPixels);

        // The newer size form; min_pixels/max_pixels override it; defaults fill what is absent.
        var sized = QwenImageProcessorOptions.FromJson("""{"size": {"shortest_edge": 1000, "longest_edge": 500000}, "do_normalize": false, "image_mean": 0.5}""");
        Assert.Equal((1000L, 500000L), (sized.MinPixels, sized.MaxPixels));
        Assert.False(sized.DoNormalize);
        Assert.Equal(new[] { 0.5, 0.5, 0.5 }, sized.ImageMean);
        Assert.Equal(QwenImageProcessorOptions.ClipStd, sized.ImageStd);
        var overridden = QwenImageProcessorOptions.FromJson("""{"size": {"shortest_edge": 1000}, "max_pixels": 7000, "min_pixels": 900}""");
        Assert.Equal((900L, 7000L), (overridden.MinPixels, overridden.MaxPixels));
        var defaults = QwenImageProcessorOptions.FromJson("{}");
        Assert.Equal((3136L, 1003520L, 14, 2, 2), (defaults.MinPixels, defaults.MaxPixels, defaults.PatchSize, defaults.TemporalPatchSize, defaults.MergeSize));
        Assert.Equal(1.0 / 255, defaults.RescaleFactor);
        Assert.True(defaults.DoResize && defaults.DoRescale && defaults.DoNormalize && defaults.DoConvertRgb);
        Assert.Null(defaults.MaxPixelsCap);

        static string Refused(string json) => Assert.Throws<InvalidDataException>(() => QwenImageProcessorOptions.FromJson(json, "cfg.json")).Message;
        Assert.Contains("cfg.json: field 'size' must contain 'shortest_edge' and 'longest_edge'", Refused("""{"size": {"shortest_edge": 3136}}"""), StringComparison.Ordinal);
        Assert.Contains("field 'patch_size' is \"14\"", Refused("""{"patch_size": "14"}"""), StringComparison.Ordinal);
        Assert.Contains("field 'max_pixels' is -5", Refused("""{"max_pixels": -5}"""), StringComparison.Ordinal);
        Assert.Contains("field 'image_mean' is [0.5,0.5]", Refused("""{"image_mean": [0.5,0.5]}"""), StringComparison.Ordinal);
        Assert.Contains("field 'image_std[1]'", Refused("""{"image_std": [0.5,"a",0.5]}"""), StringComparison.Ordinal);
        Assert.Contains("image_std (ImageStd) must hold 3 finite non-zero values", Refused("""{"image_std": [0.5,0,0.5]}"""), StringComparison.Ordinal);
        Assert.Contains("field 'do_resize'", Refused("""{"do_resize": 1}"""), StringComparison.Ordinal);
        Assert.Contains("field 'resample' is 2; only 3 (bicubic)", Refused("""{"resample": 2}"""), StringComparison.Ordinal);
        Assert.Contains("cfg.json: not valid JSON", Refused("{"), StringComparison.Ordinal);
        Assert.Contains("cfg.json: not a JSON object", Refused("[]"), StringComparison.Ordinal);
        Assert.Equal(14, QwenImageProcessorOptions.FromJson("""{"resample": 3}""").PatchSize);
        Assert.Throws<FileNotFoundException>(() => QwenImageProcessorOptions.Load(Path.Combine(_folder, "nowhere")));
        Assert.Throws<ArgumentException>(() => new QwenImageProcessor(new QwenImageProcessorOptions { MaxPixelsCap = 0 }));
    }

    /// <summary>The reference's float steps and patch flattening, done with libtorch on 8-bit RGB of the final size.</summary>
    private static float[] Reference(byte[] rgb, int width, int height, QwenImageProcessorOptions options)
    {
        using var scope = NewDisposeScope();
        var image = tensor(rgb, new long[] { height, width, 3 }).to(ScalarType.Float64) * options.RescaleFactor;
        var mean = tensor(options.ImageMean.Select(v => (float)v).ToArray());
        var std = tensor(options.ImageStd.Select(v => (float)v).ToArray());
        var normalised = ((image.to(ScalarType.Float32) - mean) / std).permute(2, 0, 1);
        int p = options.PatchSize, m = options.MergeSize, t = options.TemporalPatchSize;
        int gh = height / p, gw = width / p;
        var patches = normalised.unsqueeze(0).expand(t, -1, -1, -1)
            .reshape(1, t, 3, gh / m, m, p, gw / m, m, p)
            .permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
            .reshape(gh * gw, 3 * t * p * p)
            .contiguous();
        return patches.data<float>().ToArray();
    }

    private static byte[] Random(int seed, int count)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Png(int width, int height, Func<int, int, SKColor> color)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, color(x, y));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A PNG that declares a size in its header and holds one empty compressed block.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        using var stream = new MemoryStream();
        stream.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        Chunk(stream, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                z.WriteByte(0);
            }

            Chunk(stream, "IDAT", compressed.ToArray());
        }

        Chunk(stream, "IEND", Array.Empty<byte>());
        return stream.ToArray();
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
        stream.Write(header);
        stream.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(header.AsSpan(4).ToArray().Concat(data).ToArray()));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
