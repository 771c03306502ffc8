namespace AnatomyR1.TorchSharp.Lora;

/// <summary>
/// Settings of low-rank adapters (LoRA): the rank, the scale, the dropout and which <c>Linear</c> modules of a model
/// get an adapter. Target and exclude patterns follow PEFT: a plain name matches a module whose name equals it or
/// ends with <c>"." + name</c>; a pattern that starts with <c>^</c> or contains any of <c>$*+?()[]{}|\</c> is a
/// regular expression that must match the whole module name (a dot alone does not make a pattern a regular
/// expression, so <c>self_attn.q_proj</c> is a plain suffix).
/// </summary>
public sealed record LoraOptions
{
    /// <summary>
    /// The default target names: the attention and MLP projections of a Llama/Qwen-style decoder
    /// (<c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>, <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>).
    /// </summary>
    public static IReadOnlyList<string> DefaultTargetModules { get; } =
        Array.AsReadOnly(new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" });

    /// <summary>
    /// The default exclusions: the vision tower, i.e. every module below a <c>visual</c> component (<c>visual.…</c> in
    /// the Qwen2.5-VL port, <c>model.visual.…</c> in newer checkpoints) and every name containing <c>vision</c>
    /// (the tiny model's <c>vision.…</c>). Qwen2.5-VL's vision blocks have <c>gate_proj</c>/<c>up_proj</c>/<c>down_proj</c>
    /// too, so without these the default targets would adapt them.
    /// </summary>
    public static IReadOnlyList<string> DefaultExcludeModules { get; } =
        Array.AsReadOnly(new[] { @"^(?:.*\.)?visual\..*", @"^.*vision.*" });

    /// <summary>The rank r of each adapter (lora_A is [r, in], lora_B is [out, r]). Default 16.</summary>
    public int Rank { get; init; } = 16;

    /// <summary>The scale numerator: the adapter's output is multiplied by <see cref="Scaling"/> = alpha / r (alpha / √r with <see cref="UseRsLora"/>). Default 32.</summary>
    public double Alpha { get; init; } = 32;

    /// <summary>Whether to use rank-stabilised scaling, alpha / √r, instead of alpha / r. Default false.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>The dropout probability applied to an adapter's input, in training mode only (the adapted <c>Linear</c>'s mode). Default 0.05.</summary>
    public double Dropout { get; init; } = 0.05;

    /// <summary>Name patterns of the <c>Linear</c> modules to adapt (see the type's remarks). Default <see cref="DefaultTargetModules"/>.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = DefaultTargetModules;

    /// <summary>Name patterns of modules never adapted, even when a target pattern matches them. Default <see cref="DefaultExcludeModules"/>.</summary>
    public IReadOnlyList<string> ExcludeModules { get; init; } = DefaultExcludeModules;

    /// <summary>The factor applied to each adapter's output: alpha / r, or alpha / √r with <see cref="UseRsLora"/>.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range or a pattern is empty or not a valid regular expression.</exception>
    public void Validate()
    {
        if (Rank < 1)
        {
            throw new ArgumentException($"LoRA rank must be at least 1 (got {Rank}).");
        }

        if (!double.IsFinite(Alpha) || Alpha <= 0)
        {
            throw new ArgumentException($"LoRA alpha must be a positive number (got {Alpha}).");
        }

        if (!double.IsFinite(Dropout) || Dropout < 0 || Dropout >= 1)
        {
            throw new ArgumentException($"LoRA dropout must be in [0, 1) (got {Dropout}).");
        }

        if (TargetModules is null || TargetModules.Count == 0)
        {
            throw new ArgumentException("LoRA needs at least one target module pattern.");
        }

        foreach (string pattern in TargetModules.Concat(ExcludeModules ?? Array.Empty<string>()))
        {
            LoraModulePattern.Check(pattern);
        }
    }
}
