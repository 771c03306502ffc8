using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Runtime;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The one front door for policies: loads a policy folder by the <c>model_type</c> in its <c>config.json</c>,
/// creates fresh policies from preset names, and loads saved tokenizers by kind. The built-in families are
/// registered when the registry is first used; applications and libraries add their own with
/// <see cref="Register"/> and <see cref="RegisterTokenizer"/>.
/// </summary>
public static class PolicyRegistry
{
    /// <summary>The configuration file every policy folder has.</summary>
    public const string ConfigFile = "config.json";

    private static readonly ConcurrentDictionary<string, PolicyFamily> Families = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Func<string, IPolicyTokenizer>> Tokenizers = new(StringComparer.Ordinal);

    static PolicyRegistry()
    {
        TinyVlmPolicy.RegisterFamily();
        QwenVLPolicy.RegisterFamily();
    }

    /// <summary>The registered model types.</summary>
    public static IReadOnlyCollection<string> ModelTypes => Families.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The model type assumed for a <c>config.json</c> without a <c>model_type</c> field (folders saved before the field
    /// existed): the built-in tiny model's.
    /// </summary>
    public static string LegacyModelType => TinyVlmPolicy.ModelTypeName;

    /// <summary>The tokenizer kind assumed for saved S(q) embedders that do not record one (saved before the kind existed).</summary>
    public static string LegacyTokenizerKind => VlmTokenizer.KindName;

    /// <summary>Adds (or replaces) a policy family.</summary>
    /// <param name="family">The family.</param>
    public static void Register(PolicyFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentException.ThrowIfNullOrWhiteSpace(family.ModelType);
        ArgumentNullException.ThrowIfNull(family.Load);
        Families[family.ModelType] = family;
    }

    /// <summary>Adds (or replaces) a tokenizer loader under a kind (see <see cref="IPolicyTokenizer.Kind"/>).</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="load">Loads the tokenizer from a folder its <see cref="IPolicyTokenizer.Save"/> wrote.</param>
    public static void RegisterTokenizer(string kind, Func<string, IPolicyTokenizer> load)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(load);
        Tokenizers[kind] = load;
    }

    /// <summary>The model type a policy folder declares.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The <c>model_type</c> of its <c>config.json</c> (or <see cref="LegacyModelType"/> when the field is absent).</returns>
    /// <exception cref="InvalidDataException">The folder has no readable <c>config.json</c>; the message names it.</exception>
    public static string ModelTypeOf(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string path = Path.Combine(folder, ConfigFile);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"'{folder}' is not a policy folder: {ConfigFile} is missing.");
        }

        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
            return node["model_type"] switch
            {
                null => LegacyModelType,
                JsonValue v when v.TryGetValue(out string? s) && !string.IsNullOrWhiteSpace(s) => s,
                _ => throw new InvalidDataException($"{path}: field 'model_type' must be a non-empty string."),
            };
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads a policy folder, dispatching on its model type.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="InvalidDataException">The folder is not a policy folder, or its model type is not registered; the message says which types are.</exception>
    public static IVisionLanguagePolicy Load(string folder, string device = "auto")
    {
        string type = ModelTypeOf(folder);
        if (!Families.TryGetValue(type, out var family))
        {
            throw new InvalidDataException($"{Path.Combine(folder, ConfigFile)}: model_type '{type}' is not registered (known: {string.Join(", ", ModelTypes)}). Register its PolicyFamily with PolicyRegistry.Register.");
        }

        TorchRuntime.EnsureThreads();
        return family.Load(folder, TorchRuntime.ResolveDevice(device));
    }

    /// <summary>Loads a policy folder, or the built-in checkpoint when <paramref name="folder"/> is null.</summary>
    /// <param name="folder">The folder, or null.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <returns>The policy.</returns>
    public static IVisionLanguagePolicy LoadOrBuiltIn(string? folder, string device = "auto") =>
        folder is null ? Load(BuiltInPolicy.Folder(), device) : Load(folder, device);

    /// <summary>The preset names of every registered family.</summary>
    public static IReadOnlyCollection<string> Presets => Families.Values.SelectMany(f => f.Presets).Distinct(StringComparer.Ordinal).OrderBy(p => p, StringComparer.Ordinal).ToList();

    /// <summary>Creates a fresh, randomly initialised policy from a preset name (for example <c>tiny</c>).</summary>
    /// <param name="preset">The preset.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <param name="seed">Initialisation seed.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentException">No registered family has the preset.</exception>
    public static IVisionLanguagePolicy Create(string preset, string device = "auto", long seed = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(preset);
        var family = Families.Values.FirstOrDefault(f => f.Create is not null && f.Presets.Contains(preset, StringComparer.Ordinal))
            ?? throw new ArgumentException($"Unknown preset '{preset}'; known presets: {string.Join(", ", Presets)}.", nameof(preset));
        TorchRuntime.EnsureThreads();
        return family.Create!(preset, TorchRuntime.ResolveDevice(device), seed);
    }

    /// <summary>Loads a tokenizer saved by <see cref="IPolicyTokenizer.Save"/>.</summary>
    /// <param name="kind">Its <see cref="IPolicyTokenizer.Kind"/>.</param>
    /// <param name="folder">The folder it was saved into.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The kind is not registered.</exception>
    public static IPolicyTokenizer LoadTokenizer(string kind, string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        if (!Tokenizers.TryGetValue(kind, out var load))
        {
            throw new InvalidDataException($"'{folder}': tokenizer kind '{kind}' is not registered (known: {string.Join(", ", Tokenizers.Keys.OrderBy(k => k, StringComparer.Ordinal))}).");
        }

        return load(folder);
    }
}
