using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Lora;

/// <summary>
/// Low-rank adapters (LoRA) attached to the <c>Linear</c> modules of any TorchSharp module tree, saved and loaded in
/// PEFT's layout (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>).
/// </summary>
/// <remarks>
/// <para>
/// Each target <c>Linear</c> (found by name with <see cref="LoraOptions.TargetModules"/>, minus
/// <see cref="LoraOptions.ExcludeModules"/>) gets <c>lora_A</c> [r, in] (Kaiming-uniform with a = √5, i.e. uniform in
/// ±1/√in, from the seed) and <c>lora_B</c> [out, r] (zeros) on its device and dtype, and a forward hook that adds
/// <c>scaling · B(A(dropout(x)))</c> to its output; the model classes are unchanged. Attaching freezes every base
/// parameter, so the adapters' <see cref="Parameters"/> are all that trains.
/// </para>
/// <para>
/// TorchSharp runs forward hooks only when a module is invoked through <c>Module.call(x)</c>; a model that invokes its
/// <c>Linear</c> modules through <c>forward(x)</c> bypasses the adapters. <see cref="EnsureApplied"/> detects that after
/// a forward pass.
/// </para>
/// <para>
/// If the model is moved to another device or dtype after attaching, move the adapters too (<c>adapters.to(…)</c>) and
/// create the optimizer afterwards (moving replaces the parameter objects). Disposing the adapters detaches them.
/// </para>
/// </remarks>
public sealed class LoraAdapters : nn.Module
{
    /// <summary>The adapter configuration's file name in a PEFT adapter folder.</summary>
    public const string ConfigFileName = PeftAdapterConfig.FileName;

    /// <summary>The adapter weights' file name in a PEFT adapter folder.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The prefix PEFT gives every saved key (the <c>PeftModel</c> → <c>LoraModel</c> → base model path).</summary>
    public const string PeftKeyPrefix = "base_model.model.";

    private static readonly ConditionalWeakTable<nn.Module, LoraAdapters> Owners = new();
    private static readonly object Gate = new();
    private static readonly Regex PeftKey = new(@"^base_model\.model\.(?<module>.+)\.lora_(?<which>[AB])\.weight$", RegexOptions.CultureInvariant);

    private readonly List<LoraLayer> _layers;
    private readonly ModelReference _model;
    private readonly Dictionary<string, bool> _requiresGrad = new(StringComparer.Ordinal);
    private bool _enabled = true;
    private bool _merged;
    private bool _attached;

    private LoraAdapters(nn.Module model, LoraOptions options, IReadOnlyList<(string Name, Linear Linear)> targets, long? seed)
        : base(nameof(LoraAdapters))
    {
        _model = new ModelReference(model);
        Options = options;
        Scaling = options.Scaling;
        _layers = new List<LoraLayer>(targets.Count);
        using var generator = seed is { } s ? new Generator(unchecked((ulong)s), CPU) : null;
        for (int i = 0; i < targets.Count; i++)
        {
            var (name, linear) = targets[i];
            using var scope = NewDisposeScope();
            var weight = linear.weight;
            long outFeatures = weight.shape[0], inFeatures = weight.shape[1];

            // PEFT initialises A like nn.Linear's weight (kaiming_uniform_ with a = √5): gain √(2 / (1 + a²)) = √(1/3),
            // bound gain · √(3 / fan_in) = 1 / √in. Drawn on the CPU so the seed gives the same adapters on every device.
            double bound = Math.Sqrt(2.0 / (1 + 5.0)) * Math.Sqrt(3.0 / inFeatures);
            // Adapters of a bfloat16/float16 base are kept in float32 (as PEFT does by default): their updates are tiny
            // next to the weights, and AdamW's state follows the parameter's dtype.
            var dtype = weight.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : weight.dtype;
            var a = generator is null
                ? zeros(new[] { options.Rank, inFeatures }, dtype, weight.device)
                : (rand(new[] { options.Rank, inFeatures }, ScalarType.Float32, CPU, generator: generator) * (2 * bound) - bound).to(dtype, weight.device);
            var b = zeros(new[] { outFeatures, options.Rank }, dtype, weight.device);
            var layer = new LoraLayer(this, name, linear, a, b);
            _layers.Add(layer);
            register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        }

        TargetNames = _layers.Select(l => l.Name).ToArray();
    }

    /// <summary>The settings (for loaded adapters: those of the adapter configuration).</summary>
    public LoraOptions Options { get; }

    /// <summary>The factor applied to each adapter's output (alpha / r, or alpha / √r with rsLoRA).</summary>
    public double Scaling { get; }

    /// <summary>The adapted modules' names in the model, in the model's module order.</summary>
    public IReadOnlyList<string> TargetNames { get; }

    /// <summary>Whether the adapters are still attached to the model (false after <see cref="Detach"/> or disposal).</summary>
    public bool IsAttached => _attached;

    /// <summary>Whether the adapters are merged into the base weights (see <see cref="Merge"/>).</summary>
    public bool IsMerged => _merged;

    /// <summary>The number of adapter weights (2 tensors per target).</summary>
    public long TrainableParameterCount => _layers.Sum(l => l.A.numel() + l.B.numel());

    /// <summary>
    /// Whether the adapters change the model's outputs. While false the model computes its base outputs (the reference
    /// model of GRPO, with no second copy of the weights). It cannot be switched off while merged.
    /// </summary>
    /// <exception cref="InvalidOperationException">Switching off while merged.</exception>
    public bool Enabled
    {
        get => _enabled;
        set
        {
            if (!value && _merged)
            {
                throw new InvalidOperationException("The LoRA adapters are merged into the base weights; unmerge them before disabling them.");
            }

            _enabled = value;
        }
    }

    /// <summary>Whether a hook should add the adapter's output now.</summary>
    internal bool AddsDelta => _enabled && !_merged && _attached;

    /// <summary>
    /// Attaches new adapters to the target <c>Linear</c> modules of a model: A random (seeded), B zero, so the model's
    /// outputs are unchanged until B trains. Freezes every parameter of the model (restored by <see cref="Detach"/>).
    /// </summary>
    /// <param name="model">The model (any module tree; its <c>named_modules()</c> names are matched).</param>
    /// <param name="options">The settings.</param>
    /// <param name="seed">The seed of A's initialisation.</param>
    /// <returns>The attached adapters (the caller disposes them before the model).</returns>
    /// <exception cref="ArgumentException">The options are invalid, or a target pattern matches no <c>Linear</c> of the model (the message names the patterns and lists some <c>Linear</c> names).</exception>
    /// <exception cref="InvalidOperationException">The model, or one of its modules, already has LoRA adapters attached.</exception>
    public static LoraAdapters Attach(nn.Module model, LoraOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ThrowIfAttached(model);
        var linears = LinearModules(model);
        var targets = Resolve(model, linears, options);
        var adapters = new LoraAdapters(model, options, targets, seed);
        adapters.Activate();
        return adapters;
    }

    /// <summary>The names of the <c>Linear</c> modules that <see cref="Attach"/> would adapt, in the model's module order.</summary>
    /// <param name="model">The model.</param>
    /// <param name="options">The settings.</param>
    /// <returns>The target names.</returns>
    /// <exception cref="ArgumentException">The options are invalid or a target pattern matches no <c>Linear</c>.</exception>
    public static IReadOnlyList<string> ResolveTargets(nn.Module model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Resolve(model, LinearModules(model), options).Select(t => t.Name).ToArray();
    }

    /// <summary>
    /// Loads PEFT LoRA adapters (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>) and attaches them to a
    /// model, strictly: every tensor must be <c>base_model.model.&lt;module&gt;.lora_A.weight</c> or
    /// <c>.lora_B.weight</c> of a <c>Linear</c> of the model, with both present and the shapes [r, in] and [out, r].
    /// The adapters are attached as by <see cref="Attach"/> (base frozen, adapters trainable) to exactly the modules
    /// the file names.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="folder">The adapter folder.</param>
    /// <param name="mapModuleName">
    /// Maps a module name of the file (the key without <c>base_model.model.</c> and <c>.lora_A.weight</c>) to the
    /// model's name, e.g. <see cref="QwenModuleName"/> for adapters trained on newer Hugging Face Qwen2.5-VL layouts;
    /// null keeps names.
    /// </param>
    /// <returns>The attached adapters.</returns>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">The configuration or the weights do not fit the model; the message names the file and the key.</exception>
    /// <exception cref="InvalidOperationException">The model already has LoRA adapters attached.</exception>
    public static LoraAdapters Load(nn.Module model, string folder, Func<string, string>? mapModuleName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string configPath = Path.Combine(folder, ConfigFileName);
        string weightsPath = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"{folder}: no {ConfigFileName}; this is not a PEFT adapter folder.", configPath);
        }

        if (!File.Exists(weightsPath))
        {
            string hint = File.Exists(Path.Combine(folder, "adapter_model.bin")) ? " (adapter_model.bin, pickled PyTorch weights, is not read: save with safetensors)" : string.Empty;
            throw new FileNotFoundException($"{folder}: no {WeightsFileName}{hint}.", weightsPath);
        }

        var options = PeftAdapterConfig.Read(configPath);
        ThrowIfAttached(model);
        var linears = LinearModules(model);
        var byName = linears.ToDictionary(l => l.Name, l => l.Linear, StringComparer.Ordinal);
        using var file = SafeTensorsFile.Open(weightsPath);
        var keys = new Dictionary<string, (string? A, string? B)>(StringComparer.Ordinal);
        foreach (string key in file.Names)
        {
            var match = PeftKey.Match(key);
            if (!match.Success)
            {
                throw new InvalidDataException($"{weightsPath}: tensor '{key}' is not a LoRA weight of a Linear module (expected {PeftKeyPrefix}<module>.lora_A.weight or .lora_B.weight).");
            }

            string stored = match.Groups["module"].Value;
            string name = mapModuleName is null ? stored : mapModuleName(stored) ?? throw new InvalidDataException($"{weightsPath}: the module name mapping returned null for '{stored}'.");
            if (!byName.TryGetValue(name, out var linear))
            {
                string mapped = name == stored ? string.Empty : $" (mapped from '{stored}')";
                throw new InvalidDataException($"{weightsPath}: tensor '{key}' belongs to module '{name}'{mapped}, which is not a Linear module of the model ({SomeNames(linears)}).");
            }

            bool isA = match.Groups["which"].Value == "A";
            var info = file.Info(key);
            long outFeatures = linear.weight.shape[0], inFeatures = linear.weight.shape[1];
            long[] expected = isA ? new[] { (long)options.Rank, inFeatures } : new[] { outFeatures, (long)options.Rank };
            if (!info.ShapeArray.SequenceEqual(expected))
            {
                throw new InvalidDataException(
                    $"{weightsPath}: tensor '{key}' has shape [{string.Join(", ", info.ShapeArray)}] but '{name}' (Linear {inFeatures} → {outFeatures}) with r = {options.Rank} needs [{string.Join(", ", expected)}].");
            }

            keys.TryGetValue(name, out var pair);
            if ((isA ? pair.A : pair.B) is { } earlier)
            {
                throw new InvalidDataException($"{weightsPath}: tensors '{earlier}' and '{key}' both belong to module '{name}'.");
            }

            keys[name] = isA ? (key, pair.B) : (pair.A, key);
        }

        if (keys.Count == 0)
        {
            throw new InvalidDataException($"{weightsPath}: the file holds no LoRA weights.");
        }

        foreach (var (name, pair) in keys)
        {
            if (pair.A is null || pair.B is null)
            {
                string present = pair.A ?? pair.B!;
                throw new InvalidDataException($"{weightsPath}: '{present}' has no matching {(pair.A is null ? "lora_A" : "lora_B")} weight for module '{name}'.");
            }
        }

        var targets = linears.Where(l => keys.ContainsKey(l.Name)).ToList();
        var adapters = new LoraAdapters(model, options, targets, seed: null);
        try
        {
            using (no_grad())
            {
                foreach (var layer in adapters._layers)
                {
                    var (a, b) = keys[layer.Name];
                    file.ReadInto(a!, layer.A);
                    file.ReadInto(b!, layer.B);
                }
            }

            adapters.Activate();
            return adapters;
        }
        catch
        {
            adapters.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps a module name of a newer Hugging Face Qwen2.5-VL layout to the Qwen2.5-VL port's name
    /// (<c>model.language_model.X</c> → <c>model.X</c>, <c>model.visual.X</c> → <c>visual.X</c>; others unchanged),
    /// for <see cref="Load"/>.
    /// </summary>
    /// <param name="moduleName">The module name in the adapter file.</param>
    /// <returns>The port's module name.</returns>
    public static string QwenModuleName(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        const string Suffix = ".weight";
        return QwenCheckpointNames.ToCanonical(moduleName + Suffix)[..^Suffix.Length];
    }

    /// <summary>The adapter weights hooked onto <c>Linear</c> modules inside <paramref name="block"/> (for activation checkpointing).</summary>
    internal static IReadOnlyList<Parameter> AdapterParametersUnder(nn.Module block)
    {
        var result = new List<Parameter>();
        lock (Gate)
        {
            foreach (var (_, module) in block.named_modules())
            {
                if (module is Linear && Owners.TryGetValue(module, out var owner) && owner._attached)
                {
                    foreach (var layer in owner._layers)
                    {
                        if (ReferenceEquals(layer.Linear, module))
                        {
                            result.Add(layer.A);
                            result.Add(layer.B);
                        }
                    }
                }
            }
        }

        return result;
    }

    /// <summary>The trainable adapter weights (A then B of each target), for the optimizer.</summary>
    /// <returns>The parameters (read afresh: moving the adapters replaces them).</returns>
    public IReadOnlyList<Parameter> Parameters() => _layers.SelectMany(l => new[] { l.A, l.B }).ToArray();

    /// <summary>The adapter weights by name: <c>&lt;module&gt;.lora_A.weight</c> and <c>&lt;module&gt;.lora_B.weight</c> (saved with the <see cref="PeftKeyPrefix"/>).</summary>
    /// <returns>Name and parameter pairs, A then B of each target.</returns>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters() =>
        _layers.SelectMany(l => new[] { ($"{l.Name}.lora_A.weight", l.A), ($"{l.Name}.lora_B.weight", l.B) }).ToArray();

    /// <summary>Switches the adapters off until the returned scope is disposed (then back to the previous state).</summary>
    /// <returns>The scope.</returns>
    /// <exception cref="InvalidOperationException">The adapters are merged.</exception>
    public IDisposable Disable()
    {
        bool previous = _enabled;
        Enabled = false;
        return new EnabledScope(this, previous);
    }

    /// <summary>
    /// Adds scaling · B·A into each target's weight in place (in the weight's dtype) and stops the hooks from adding
    /// the adapters, so the model runs at its base speed with the adapted outputs. Gradients then no longer reach the
    /// adapters; <see cref="Unmerge"/> before training again. With a low-precision base (bfloat16) merging and
    /// unmerging round the base weights.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already merged, disabled or detached.</exception>
    public void Merge()
    {
        ThrowIfDetached();
        if (_merged)
        {
            throw new InvalidOperationException("The LoRA adapters are already merged.");
        }

        if (!_enabled)
        {
            throw new InvalidOperationException("The LoRA adapters are disabled; enable them before merging.");
        }

        AddDeltas(subtract: false);
        _merged = true;
    }

    /// <summary>Subtracts what <see cref="Merge"/> added from each target's weight and lets the hooks add the adapters again.</summary>
    /// <exception cref="InvalidOperationException">Not merged, or detached.</exception>
    public void Unmerge()
    {
        ThrowIfDetached();
        if (!_merged)
        {
            throw new InvalidOperationException("The LoRA adapters are not merged.");
        }

        AddDeltas(subtract: true);
        _merged = false;
    }

    /// <summary>
    /// Removes the hooks and restores each model parameter's <c>requires_grad</c> as it was before attaching. Merged
    /// adapters are unmerged first unless <paramref name="keepMerged"/> (which leaves the model with the adapted
    /// weights, e.g. to save it as a plain checkpoint). The adapter weights stay usable for <see cref="Save"/>.
    /// </summary>
    /// <param name="keepMerged">Whether merged weights stay in the model.</param>
    public void Detach(bool keepMerged = false)
    {
        if (!_attached)
        {
            return;
        }

        if (_merged && !keepMerged)
        {
            Unmerge();
        }

        Release();
        RestoreRequiresGrad();
    }

    /// <summary>
    /// Throws when some adapter has never run since attaching: the model invoked that <c>Linear</c> through
    /// <c>forward(x)</c>, which skips TorchSharp's hooks, or never used it. Call after a forward pass that should use
    /// every target.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some adapters never ran; the message names them.</exception>
    public void EnsureApplied()
    {
        var idle = _layers.Where(l => l.Applications == 0).Select(l => l.Name).ToList();
        if (idle.Count > 0)
        {
            throw new InvalidOperationException(
                $"{idle.Count} of {_layers.Count} LoRA adapters never ran (e.g. {string.Join(", ", idle.Take(5).Select(n => $"'{n}'"))}): " +
                "TorchSharp runs forward hooks only when a module is invoked through Module.call(x), and the model invokes these Linear modules through forward(x) (or not at all).");
        }
    }

    /// <summary>
    /// Saves the adapters in PEFT's layout: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> with keys
    /// <c>base_model.model.&lt;module&gt;.lora_A.weight</c> / <c>.lora_B.weight</c>, in their dtype. The folder is
    /// written beside the destination and renamed into place (an existing folder is replaced).
    /// </summary>
    /// <param name="folder">The destination folder.</param>
    /// <param name="baseModelNameOrPath">The base model's name or path for <c>base_model_name_or_path</c>, or null.</param>
    public void Save(string folder, string? baseModelNameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string config = PeftAdapterConfig.Write(Options, baseModelNameOrPath);
        var tensors = NamedParameters().Select(p => new KeyValuePair<string, Tensor>(PeftKeyPrefix + p.Name, p.Parameter)).ToList();
        AtomicFile.WriteFolder(folder, staging =>
        {
            File.WriteAllText(Path.Combine(staging, ConfigFileName), config);
            SafeTensorsWriter.Write(Path.Combine(staging, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        });
    }

    /// <inheritdoc/>
    protected override void RegisterComponents()
    {
        // The layers are registered in the constructor; the model must never become a child of this module.
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _attached)
        {
            try
            {
                Detach();
            }
            catch (InvalidOperationException)
            {
                // The model was disposed first: there is nothing left to restore.
                Release();
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Whether an adapter is attached to <paramref name="linear"/> (its forward hook changes the output).</summary>
    internal static bool HasAdapter(nn.Module linear)
    {
        lock (Gate)
        {
            return Owners.TryGetValue(linear, out var owner) && owner._attached;
        }
    }

    private static List<(string Name, Linear Linear)> LinearModules(nn.Module model)
    {
        var seen = new HashSet<Linear>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Linear)>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is Linear linear && seen.Add(linear))
            {
                result.Add((name, linear));
            }
        }

        return result;
    }

    private static List<(string Name, Linear Linear)> Resolve(nn.Module model, List<(string Name, Linear Linear)> linears, LoraOptions options)
    {
        var exclude = options.ExcludeModules ?? Array.Empty<string>();
        var problems = new List<string>();
        foreach (string pattern in options.TargetModules)
        {
            var matched = linears.Where(l => LoraModulePattern.Matches(pattern, l.Name)).ToList();
            if (matched.Count == 0)
            {
                problems.Add($"'{pattern}'");
            }
            else if (matched.All(l => LoraModulePattern.MatchesAny(exclude, l.Name)))
            {
                problems.Add($"'{pattern}' (only excluded modules, e.g. '{matched[0].Name}')");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"LoRA target pattern{(problems.Count > 1 ? "s" : string.Empty)} {string.Join(", ", problems)} match{(problems.Count > 1 ? string.Empty : "es")} no Linear module of {model.GetName()} ({SomeNames(linears)}).",
                nameof(options));
        }

        return linears
            .Where(l => options.TargetModules.Any(p => LoraModulePattern.Matches(p, l.Name)) && !LoraModulePattern.MatchesAny(exclude, l.Name))
            .ToList();
    }

    private static string SomeNames(List<(string Name, Linear Linear)> linears)
    {
        if (linears.Count == 0)
        {
            return "it has no Linear modules";
        }

        const int Shown = 12;
        string more = linears.Count > Shown ? ", …" : string.Empty;
        return $"its {linears.Count} Linear modules include {string.Join(", ", linears.Take(Shown).Select(l => l.Name))}{more}";
    }

    private static void ThrowIfAttached(nn.Module model)
    {
        lock (Gate)
        {
            if (Owners.TryGetValue(model, out var owner))
            {
                throw new InvalidOperationException($"The model already has LoRA adapters attached ({owner.TargetNames.Count} modules); detach or dispose them first.");
            }

            foreach (var (name, module) in model.named_modules())
            {
                if (Owners.TryGetValue(module, out owner))
                {
                    throw new InvalidOperationException($"Module '{name}' of the model already has LoRA adapters attached; detach or dispose them first.");
                }
            }
        }
    }

    private void Activate()
    {
        var model = _model.Module;
        lock (Gate)
        {
            ThrowIfAttached(model);
            Owners.Add(model, this);
            foreach (var layer in _layers)
            {
                Owners.Add(layer.Linear, this);
            }

            _attached = true;
        }

        foreach (var (name, parameter) in model.named_parameters())
        {
            _requiresGrad[name] = parameter.requires_grad;
            parameter.requires_grad = false;
        }

        foreach (var layer in _layers)
        {
            layer.Hook();
        }
    }

    private void Release()
    {
        foreach (var layer in _layers)
        {
            layer.Unhook();
        }

        lock (Gate)
        {
            Owners.Remove(_model.Module);
            foreach (var layer in _layers)
            {
                Owners.Remove(layer.Linear);
            }

            _attached = false;
        }
    }

    private void RestoreRequiresGrad()
    {
        foreach (var (name, parameter) in _model.Module.named_parameters())
        {
            if (_requiresGrad.TryGetValue(name, out bool requiresGrad))
            {
                parameter.requires_grad = requiresGrad;
            }
        }

        _requiresGrad.Clear();
    }

    private void AddDeltas(bool subtract)
    {
        using var noGrad = no_grad();
        foreach (var layer in _layers)
        {
            var weight = layer.Linear.weight;
            using var delta = layer.Delta(weight.dtype, weight.device);
            if (subtract)
            {
                weight.sub_(delta);
            }
            else
            {
                weight.add_(delta);
            }
        }
    }

    private void ThrowIfDetached()
    {
        if (!_attached)
        {
            throw new InvalidOperationException("The LoRA adapters are detached from their model.");
        }
    }

    /// <summary>Holds the model without making it a field of module type (which TorchSharp would register as a child).</summary>
    private sealed class ModelReference(nn.Module module)
    {
        public nn.Module Module { get; } = module;
    }

    private sealed class EnabledScope(LoraAdapters owner, bool previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                owner.Enabled = previous;
            }
        }
    }
}
