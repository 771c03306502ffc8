using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// A kind of policy the library can load: the <c>model_type</c> its folders' <c>config.json</c> names, how to load
/// such a folder, and optionally how to create a fresh, randomly initialised policy for named presets (used by the
/// supervised warm start). Register one with <see cref="PolicyRegistry.Register"/>.
/// </summary>
/// <param name="ModelType">The <c>model_type</c> value in <c>config.json</c>.</param>
/// <param name="Load">Loads a policy folder onto a device (strictly: a clear error for any missing or mismatched file).</param>
public sealed record PolicyFamily(string ModelType, Func<string, Device, IVisionLanguagePolicy> Load)
{
    /// <summary>Preset names <see cref="Create"/> accepts. Default none.</summary>
    public IReadOnlyList<string> Presets { get; init; } = Array.Empty<string>();

    /// <summary>Creates a fresh policy from a preset name, a device and an initialisation seed; null when the family has no presets. Default null.</summary>
    public Func<string, Device, long, IVisionLanguagePolicy>? Create { get; init; }
}
