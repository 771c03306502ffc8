using System.Text;
using System.Text.Json;

namespace AnatomyR1.TorchSharp.Lora;

/// <summary>Reads and writes PEFT's <c>adapter_config.json</c> for LoRA adapters.</summary>
internal static class PeftAdapterConfig
{
    /// <summary>The configuration's file name in an adapter folder.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>
    /// The configuration as PEFT writes it for a LoRA adapter saved for inference: keys sorted, two-space indents, the
    /// fields this library does not use at their PEFT defaults.
    /// </summary>
    /// <param name="options">The adapters' settings.</param>
    /// <param name="baseModelNameOrPath">The base model's name or path, or null.</param>
    /// <returns>The JSON text.</returns>
    public static string Write(LoraOptions options, string? baseModelNameOrPath)
    {
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal)
        {
            ["alpha_pattern"] = w => EmptyObject(w),
            ["auto_mapping"] = w => w.WriteNullValue(),
            ["base_model_name_or_path"] = w => StringOrNull(w, baseModelNameOrPath),
            ["bias"] = w => w.WriteStringValue("none"),
            ["exclude_modules"] = w => Patterns(w, LoraModulePattern.ToPeft(options.ExcludeModules ?? Array.Empty<string>())),
            ["fan_in_fan_out"] = w => w.WriteBooleanValue(false),
            ["inference_mode"] = w => w.WriteBooleanValue(true),
            ["init_lora_weights"] = w => w.WriteBooleanValue(true),
            ["layer_replication"] = w => w.WriteNullValue(),
            ["layers_pattern"] = w => w.WriteNullValue(),
            ["layers_to_transform"] = w => w.WriteNullValue(),
            ["loftq_config"] = w => EmptyObject(w),
            ["lora_alpha"] = w => Number(w, options.Alpha),
            ["lora_bias"] = w => w.WriteBooleanValue(false),
            ["lora_dropout"] = w => Number(w, options.Dropout),
            ["megatron_config"] = w => w.WriteNullValue(),
            ["megatron_core"] = w => w.WriteStringValue("megatron.core"),
            ["modules_to_save"] = w => w.WriteNullValue(),
            ["peft_type"] = w => w.WriteStringValue("LORA"),
            ["r"] = w => w.WriteNumberValue(options.Rank),
            ["rank_pattern"] = w => EmptyObject(w),
            ["revision"] = w => w.WriteNullValue(),
            ["target_modules"] = w => Patterns(w, LoraModulePattern.ToPeft(options.TargetModules)),
            ["task_type"] = w => w.WriteStringValue("CAUSAL_LM"),
            ["use_dora"] = w => w.WriteBooleanValue(false),
            ["use_rslora"] = w => w.WriteBooleanValue(options.UseRsLora),
        };

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (name, write) in fields)
            {
                writer.WritePropertyName(name);
                write(writer);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads a LoRA configuration, refusing PEFT features these adapters do not implement.</summary>
    /// <param name="path">The <c>adapter_config.json</c> file.</param>
    /// <returns>The settings it describes.</returns>
    /// <exception cref="InvalidDataException">The file is not a LoRA configuration these adapters can load; the message names the file and the field.</exception>
    public static LoraOptions Read(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the configuration is not a JSON object.");
            }

            string peftType = String(root, "peft_type", path) ?? throw Bad(path, "peft_type", "is missing");
            if (peftType != "LORA")
            {
                throw Bad(path, "peft_type", $"is '{peftType}'; only LORA adapters are supported");
            }

            Refuse(root, path, "use_dora", e => e.ValueKind == JsonValueKind.True, "DoRA adapters are not supported");
            Refuse(root, path, "fan_in_fan_out", e => e.ValueKind == JsonValueKind.True, "transposed (Conv1D) weights are not supported");
            Refuse(root, path, "lora_bias", e => e.ValueKind == JsonValueKind.True, "adapter biases are not supported");
            Refuse(root, path, "bias", e => e.ValueKind == JsonValueKind.String && e.GetString() != "none", "only bias \"none\" is supported");
            Refuse(root, path, "rank_pattern", NonEmpty, "per-module ranks are not supported");
            Refuse(root, path, "alpha_pattern", NonEmpty, "per-module alphas are not supported");
            Refuse(root, path, "modules_to_save", NonEmpty, "fully trained extra modules are not supported");
            Refuse(root, path, "layer_replication", NonEmpty, "layer replication is not supported");

            if (!root.TryGetProperty("r", out var r) || !r.TryGetInt32(out int rank) || rank < 1)
            {
                throw Bad(path, "r", "must be a positive integer");
            }

            double alpha = OptionalNumber(root, "lora_alpha", path) ?? 8;
            double dropout = OptionalNumber(root, "lora_dropout", path) ?? 0;
            bool rsLora = root.TryGetProperty("use_rslora", out var rs) && rs.ValueKind == JsonValueKind.True;
            var options = new LoraOptions
            {
                Rank = rank,
                Alpha = alpha,
                Dropout = dropout,
                UseRsLora = rsLora,
                TargetModules = ReadPatterns(root, "target_modules", path) ?? Array.Empty<string>(),
                ExcludeModules = ReadPatterns(root, "exclude_modules", path) ?? Array.Empty<string>(),
            };

            try
            {
                if (options.Rank < 1 || !double.IsFinite(options.Alpha) || options.Alpha <= 0 || options.Dropout is < 0 or >= 1)
                {
                    throw new ArgumentException($"r {rank}, lora_alpha {alpha}, lora_dropout {dropout} are out of range");
                }

                foreach (string pattern in options.TargetModules.Concat(options.ExcludeModules))
                {
                    LoraModulePattern.Check(pattern);
                }
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}.", e);
            }

            return options;
        }
    }

    private static void EmptyObject(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteEndObject();
    }

    private static void StringOrNull(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }

    private static void Number(Utf8JsonWriter writer, double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
        {
            writer.WriteNumberValue((long)value);
        }
        else
        {
            writer.WriteNumberValue(value);
        }
    }

    private static void Patterns(Utf8JsonWriter writer, object? patterns)
    {
        switch (patterns)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string regex:
                writer.WriteStringValue(regex);
                break;
            case string[] list:
                writer.WriteStartArray();
                foreach (string item in list)
                {
                    writer.WriteStringValue(item);
                }

                writer.WriteEndArray();
                break;
        }
    }

    private static bool NonEmpty(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => false,
        JsonValueKind.Object => element.EnumerateObject().Any(),
        JsonValueKind.Array => element.GetArrayLength() > 0,
        JsonValueKind.String => element.GetString()!.Length > 0,
        _ => true,
    };

    private static void Refuse(JsonElement root, string path, string field, Func<JsonElement, bool> unsupported, string why)
    {
        if (root.TryGetProperty(field, out var value) && unsupported(value))
        {
            throw Bad(path, field, $"is {value.GetRawText()}: {why}");
        }
    }

    private static string? String(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Bad(path, field, "is not a string");
    }

    private static double? OptionalNumber(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Bad(path, field, "is not a number");
    }

    private static IReadOnlyList<string>? ReadPatterns(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return new[] { LoraModulePattern.FromPeftRegex(value.GetString()!) };
        }

        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            return value.EnumerateArray().Select(e => e.GetString()!).ToArray();
        }

        throw Bad(path, field, "is neither a string nor a list of strings");
    }

    private static InvalidDataException Bad(string path, string field, string problem) => new($"{path}: '{field}' {problem}.");
}
