using System.Text.Json;

namespace AnatomyR1.TorchSharp.Models.Qwen;

/// <summary>
/// Settings of <see cref="QwenImageProcessor"/>, as a Qwen2-VL or Qwen2.5-VL <c>preprocessor_config.json</c> holds
/// them (<see cref="Load"/>), plus <see cref="MaxPixelsCap"/>. The defaults are transformers' Qwen2VLImageProcessor's;
/// note that the published Qwen2.5-VL configs raise <see cref="MaxPixels"/> to 12,845,056, so load the model's file.
/// </summary>
public sealed record QwenImageProcessorOptions
{
    /// <summary>The file <see cref="Load"/> reads from a model folder.</summary>
    public const string FileName = "preprocessor_config.json";

    /// <summary>CLIP's per-channel mean (RGB), the default <see cref="ImageMean"/>.</summary>
    public static readonly IReadOnlyList<double> ClipMean = new[] { 0.48145466, 0.4578275, 0.40821073 };

    /// <summary>CLIP's per-channel standard deviation (RGB), the default <see cref="ImageStd"/>.</summary>
    public static readonly IReadOnlyList<double> ClipStd = new[] { 0.26862954, 0.26130258, 0.27577711 };

    /// <summary>Fewest pixels after resizing (<c>min_pixels</c>, or <c>size.shortest_edge</c>). Default 3,136 (56²).</summary>
    public long MinPixels { get; init; } = 56 * 56;

    /// <summary>Most pixels after resizing (<c>max_pixels</c>, or <c>size.longest_edge</c>). Default 1,003,520 (28² · 1280).</summary>
    public long MaxPixels { get; init; } = 28 * 28 * 1280;

    /// <summary>
    /// A further upper bound on pixels after resizing, applied on top of <see cref="MaxPixels"/> (the smaller wins);
    /// null for none. The Anatomy-R1 paper capped images at 602,112 pixels (28² · 768). Default null.
    /// </summary>
    public long? MaxPixelsCap { get; init; }

    /// <summary>Side of a vision patch in pixels (<c>patch_size</c>). Default 14.</summary>
    public int PatchSize { get; init; } = 14;

    /// <summary>Frames per temporal patch (<c>temporal_patch_size</c>); a still image is repeated this many times. Default 2.</summary>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Patches merged per side into one language-model token (<c>merge_size</c>). Default 2.</summary>
    public int MergeSize { get; init; } = 2;

    /// <summary>Per-channel mean subtracted when normalising (<c>image_mean</c>). Default <see cref="ClipMean"/>.</summary>
    public IReadOnlyList<double> ImageMean { get; init; } = ClipMean;

    /// <summary>Per-channel standard deviation divided by when normalising (<c>image_std</c>). Default <see cref="ClipStd"/>.</summary>
    public IReadOnlyList<double> ImageStd { get; init; } = ClipStd;

    /// <summary>Factor uint8 values are multiplied by when rescaling (<c>rescale_factor</c>). Default 1/255.</summary>
    public double RescaleFactor { get; init; } = 1.0 / 255;

    /// <summary>Resize to the smart-resize size (<c>do_resize</c>); when false the image's sides must be multiples of <see cref="Factor"/>. Default true.</summary>
    public bool DoResize { get; init; } = true;

    /// <summary>Multiply by <see cref="RescaleFactor"/> (<c>do_rescale</c>). Default true.</summary>
    public bool DoRescale { get; init; } = true;

    /// <summary>Subtract <see cref="ImageMean"/> and divide by <see cref="ImageStd"/> (<c>do_normalize</c>). Default true.</summary>
    public bool DoNormalize { get; init; } = true;

    /// <summary>
    /// Composite images with transparency onto white before use (<c>do_convert_rgb</c>), as transformers'
    /// <c>convert_to_rgb</c> does; when false the colour channels are used as decoded (premultiplied by alpha). Default true.
    /// </summary>
    public bool DoConvertRgb { get; init; } = true;

    /// <summary>The upper bound smart resize uses: <see cref="MaxPixels"/>, lowered to <see cref="MaxPixelsCap"/> when that is smaller.</summary>
    public long EffectiveMaxPixels => MaxPixelsCap is { } cap ? Math.Min(MaxPixels, cap) : MaxPixels;

    /// <summary>The side multiple of a resized image: <see cref="PatchSize"/> · <see cref="MergeSize"/> (28 by default).</summary>
    public int Factor => PatchSize * MergeSize;

    /// <summary>Values per flattened patch: 3 · <see cref="TemporalPatchSize"/> · <see cref="PatchSize"/>² (1,176 by default).</summary>
    public int PatchValues => 3 * TemporalPatchSize * PatchSize * PatchSize;

    /// <summary>Reads a model folder's <c>preprocessor_config.json</c>; fields it lacks keep their defaults.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The options.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>preprocessor_config.json</c>.</exception>
    /// <exception cref="InvalidDataException">A field is malformed or out of range; the message names the file and field.</exception>
    public static QwenImageProcessorOptions Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model folder '{folder}' has no {FileName}.", path);
        }

        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Reads the content of a <c>preprocessor_config.json</c>. <c>min_pixels</c>/<c>max_pixels</c> override
    /// <c>size.shortest_edge</c>/<c>size.longest_edge</c>, as in transformers; a <c>size</c> must end up with both.
    /// Fields this processor does not use (processor class names and the like) are ignored; a <c>resample</c> other
    /// than 3 (bicubic) is refused.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">The file name, for errors.</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidDataException">A field is malformed or out of range; the message names the source and field.</exception>
    public static QwenImageProcessorOptions FromJson(string json, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({ex.Message}).", ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: not a JSON object.");
            }

            var options = new QwenImageProcessorOptions();
            long? shortest = null, longest = null;
            bool hasSize = false;
            if (root.TryGetProperty("size", out var size) && size.ValueKind != JsonValueKind.Null)
            {
                if (size.ValueKind != JsonValueKind.Object)
                {
                    throw Field(source, "size", "is not an object with shortest_edge and longest_edge");
                }

                hasSize = true;
                if (size.TryGetProperty("shortest_edge", out var s))
                {
                    shortest = Integer(s, source, "size.shortest_edge");
                }

                if (size.TryGetProperty("longest_edge", out var l))
                {
                    longest = Integer(l, source, "size.longest_edge");
                }
            }

            if (Optional(root, "min_pixels") is { } min)
            {
                shortest = Integer(min, source, "min_pixels");
            }

            if (Optional(root, "max_pixels") is { } max)
            {
                longest = Integer(max, source, "max_pixels");
            }

            if (hasSize && (shortest is null || longest is null))
            {
                throw Field(source, "size", "must contain 'shortest_edge' and 'longest_edge' (or min_pixels and max_pixels must be given)");
            }

            if (Optional(root, "resample") is { } resample && (resample.ValueKind != JsonValueKind.Number || !resample.TryGetInt32(out int filter) || filter != 3))
            {
                throw Field(source, "resample", $"is {resample.GetRawText()}; only 3 (bicubic) is supported");
            }

            options = options with
            {
                MinPixels = shortest ?? options.MinPixels,
                MaxPixels = longest ?? options.MaxPixels,
                PatchSize = Optional(root, "patch_size") is { } p ? (int)Integer(p, source, "patch_size", int.MaxValue) : options.PatchSize,
                TemporalPatchSize = Optional(root, "temporal_patch_size") is { } t ? (int)Integer(t, source, "temporal_patch_size", int.MaxValue) : options.TemporalPatchSize,
                MergeSize = Optional(root, "merge_size") is { } m ? (int)Integer(m, source, "merge_size", int.MaxValue) : options.MergeSize,
                ImageMean = Optional(root, "image_mean") is { } mean ? Channels(mean, source, "image_mean") : options.ImageMean,
                ImageStd = Optional(root, "image_std") is { } std ? Channels(std, source, "image_std") : options.ImageStd,
                RescaleFactor = Optional(root, "rescale_factor") is { } r ? Number(r, source, "rescale_factor") : options.RescaleFactor,
                DoResize = Optional(root, "do_resize") is { } dr ? Boolean(dr, source, "do_resize") : options.DoResize,
                DoRescale = Optional(root, "do_rescale") is { } ds ? Boolean(ds, source, "do_rescale") : options.DoRescale,
                DoNormalize = Optional(root, "do_normalize") is { } dn ? Boolean(dn, source, "do_normalize") : options.DoNormalize,
                DoConvertRgb = Optional(root, "do_convert_rgb") is { } dc ? Boolean(dc, source, "do_convert_rgb") : options.DoConvertRgb,
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{source}: {ex.Message}", ex);
            }

            return options;
        }
    }

    /// <summary>
    /// Writes the settings as a <c>preprocessor_config.json</c> that <see cref="Load"/> and the reference implementation
    /// read. The user cap is folded into <c>max_pixels</c> (the saved folder then resizes as this processor does).
    /// </summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(
        new Dictionary<string, object>
        {
            ["image_processor_type"] = "Qwen2VLImageProcessor",
            ["min_pixels"] = MinPixels,
            ["max_pixels"] = EffectiveMaxPixels,
            ["patch_size"] = PatchSize,
            ["temporal_patch_size"] = TemporalPatchSize,
            ["merge_size"] = MergeSize,
            ["image_mean"] = ImageMean,
            ["image_std"] = ImageStd,
            ["rescale_factor"] = RescaleFactor,
            ["resample"] = 3,
            ["do_resize"] = DoResize,
            ["do_rescale"] = DoRescale,
            ["do_normalize"] = DoNormalize,
            ["do_convert_rgb"] = DoConvertRgb,
        },
        new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Writes <see cref="FileName"/> into an existing folder (temporary file, then rename).</summary>
    /// <param name="folder">The folder.</param>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        AnatomyR1.IO.AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson());
    }

    /// <summary>Checks every setting is in range.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        Require(MinPixels >= 1, "min_pixels (MinPixels) must be at least 1", MinPixels);
        Require(MaxPixels >= 1, "max_pixels (MaxPixels) must be at least 1", MaxPixels);
        Require(MaxPixelsCap is null or >= 1, "MaxPixelsCap must be at least 1 when set", MaxPixelsCap);
        Require(PatchSize >= 1, "patch_size (PatchSize) must be at least 1", PatchSize);
        Require(TemporalPatchSize >= 1, "temporal_patch_size (TemporalPatchSize) must be at least 1", TemporalPatchSize);
        Require(MergeSize >= 1, "merge_size (MergeSize) must be at least 1", MergeSize);
        Require((long)PatchSize * MergeSize <= 1 << 15 && 3L * TemporalPatchSize * PatchSize * PatchSize <= 1 << 24, "patch_size, merge_size and temporal_patch_size are too large", $"{PatchSize}, {MergeSize}, {TemporalPatchSize}");
        Require(ImageMean is { Count: 3 } && ImageMean.All(double.IsFinite), "image_mean (ImageMean) must hold 3 finite values", ImageMean is null ? "null" : string.Join(", ", ImageMean));
        Require(ImageStd is { Count: 3 } && ImageStd.All(s => double.IsFinite(s) && s != 0), "image_std (ImageStd) must hold 3 finite non-zero values", ImageStd is null ? "null" : string.Join(", ", ImageStd));
        Require(double.IsFinite(RescaleFactor), "rescale_factor (RescaleFactor) must be finite", RescaleFactor);
    }

    private static void Require(bool condition, string rule, object? value)
    {
        if (!condition)
        {
            throw new ArgumentException($"{rule} (got {value}).");
        }
    }

    private static JsonElement? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static InvalidDataException Field(string source, string field, string problem) =>
        new($"{source}: field '{field}' {problem}.");

    private static long Integer(JsonElement value, string source, string field, long max = long.MaxValue)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long n) || n < 1 || n > max)
        {
            throw Field(source, field, $"is {value.GetRawText()}, not a positive integer");
        }

        return n;
    }

    private static double Number(JsonElement value, string source, string field)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double x) || !double.IsFinite(x))
        {
            throw Field(source, field, $"is {value.GetRawText()}, not a finite number");
        }

        return x;
    }

    private static bool Boolean(JsonElement value, string source, string field) =>
        value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Field(source, field, $"is {value.GetRawText()}, not true or false"),
        };

    private static double[] Channels(JsonElement value, string source, string field)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            double x = Number(value, source, field);
            return new[] { x, x, x };
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 3)
        {
            throw Field(source, field, $"is {value.GetRawText()}, not a number or a list of 3 numbers (R, G, B)");
        }

        return value.EnumerateArray().Select((e, i) => Number(e, source, $"{field}[{i}]")).ToArray();
    }
}
