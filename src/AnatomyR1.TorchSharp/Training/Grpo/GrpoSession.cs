using System.Diagnostics;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Group Relative Policy Optimisation of a vision-language policy on multiple-choice questions. Each generation batch:
/// draw B prompts, sample G completions each (shared-prefix generation), score them with the reward functions,
/// turn rewards into group-relative advantages, then take μ optimiser steps on the clipped per-token objective with
/// a k3 KL penalty to a frozen reference. Metrics of every step go to <see cref="Progress"/>, <see cref="Log"/> and,
/// with a run folder, to <c>metrics.jsonl</c>; checkpoints go to <c>checkpoints/checkpoint-N</c>. The ML.NET estimator
/// <see cref="Estimators.GrpoTrainer"/> runs one session over an <c>IDataView</c>; use a session directly for step-level
/// control (one step at a time, checkpoints on demand, resuming).
/// </summary>
/// <remarks>
/// This class orchestrates parts with one job each: rollout collection (prompt draws, GDQA spreads, dynamic sampling,
/// rewards), the policy update (advantages, reference log-probabilities, the loss and the optimiser step), rollout
/// metrics, and the run folder. Determinism: all randomness derives from (<see cref="GrpoOptions.Seed"/>, step,
/// attempt), so a run resumed from a checkpoint draws and samples exactly what the uninterrupted run did. Each step
/// runs inside TorchSharp dispose scopes.
/// </remarks>
public sealed class GrpoSession : IDisposable
{
    /// <summary>File name of the metrics log inside the run folder.</summary>
    public const string MetricsFile = "metrics.jsonl";

    /// <summary>Sub-folder of the run folder holding checkpoints.</summary>
    public const string CheckpointsFolder = "checkpoints";

    private readonly GrpoOptions _options;
    private readonly IGrpoPromptSampler _sampler;
    private readonly RolloutCollector _collector;
    private readonly PolicyUpdater _updater;
    private readonly GrpoRunFolder? _run;
    private readonly LoraAdapters? _adapters;
    private readonly bool _previousCheckpointing;
    private bool _ownsPolicy;
    private bool _adaptersMerged;
    private readonly ShardLayout _layout;
    private readonly string[] _rewardNames;
    private List<RolloutBatch>? _batches;
    private BatchView? _view;
    private int _weightsCheckedAt = -1;
    private bool _checkpointDue;
    private bool _disposed;

    /// <summary>Creates a trainer for a policy (not owned: the caller disposes it).</summary>
    /// <param name="policy">The policy to train in place.</param>
    /// <param name="examples">Training prompts.</param>
    /// <param name="options">Options (validated here).</param>
    /// <param name="sampler">Prompt sampler; default uniform with the options' seed.</param>
    /// <param name="runFolder">Folder for metrics and checkpoints; null keeps everything in memory.</param>
    /// <exception cref="ArgumentException">An option is invalid or there are no examples.</exception>
    public GrpoSession(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler = null, string? runFolder = null)
        : this(policy, examples, options, sampler, runFolder, reference: null, adapters: null, ownsPolicy: false)
    {
    }

    /// <summary>A session that owns (and disposes) its policy.</summary>
    internal static GrpoSession Owning(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler, string? runFolder) =>
        new(policy, examples, options, sampler, runFolder, reference: null, adapters: null, ownsPolicy: true);

    private GrpoSession(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler, string? runFolder,
        IVisionLanguagePolicy? reference, LoraAdapters? adapters, bool ownsPolicy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (examples.Count == 0)
        {
            throw new ArgumentException("GRPO needs at least one training example.", nameof(examples));
        }

        for (int i = 0; i < examples.Count; i++)
        {
            var s = examples[i].Sample;
            if (!s.IsMultipleChoice && s.Answer.Length == 0)
            {
                throw new ArgumentException($"Training example {i} ({SampleSource.Describe(s)}) has neither options with a correct index nor an answer text to reward.", nameof(examples));
            }
        }

        (examples, SkippedExamples) = CheckImages(policy, examples, options.SkipInvalidImages);
        if (SkippedExamples.Count > 0 && sampler is not null)
        {
            throw new ArgumentException($"{SkippedExamples.Count} examples were left out for unusable images, so a prompt sampler built for the full list cannot be used; fix the images or drop the examples first ({SkippedExamples[0].Reason}).", nameof(sampler));
        }

        if (examples.Count == 0)
        {
            throw new ArgumentException($"No training example has a usable image ({SkippedExamples.Count} skipped; the first: {SkippedExamples[0].Reason}).", nameof(examples));
        }

        Policy = policy;
        _ownsPolicy = ownsPolicy;
        _options = options.Clone();
        if (sampler is not null && options.Curriculum is not null)
        {
            throw new ArgumentException("Pass either a prompt sampler or GrpoOptions.Curriculum, not both.", nameof(sampler));
        }

        _sampler = sampler
            ?? (options.Curriculum is { } curriculum ? new CurriculumPromptSampler(examples, curriculum, options.Steps, options.Seed) : new UniformPromptSampler(examples.Count, options.Seed));
        _previousCheckpointing = policy.GradientCheckpointing;
        if (options.GradientCheckpointing)
        {
            try
            {
                policy.GradientCheckpointing = true;
            }
            catch (NotSupportedException ex)
            {
                throw new ArgumentException($"GRPO option GradientCheckpointing = true: {ex.Message}", nameof(options), ex);
            }
        }

        if (options.Lora is { } lora && adapters is null)
        {
            var model = policy.AdapterModel
                ?? throw new ArgumentException($"GRPO option Lora is set but the {policy.ModelType} policy cannot take LoRA adapters (it exposes no AdapterModel).", nameof(options));
            adapters = LoraAdapters.Attach(model, lora, seed: options.Seed);
        }

        _adapters = adapters;
        try
        {
            _collector = new RolloutCollector(policy, examples, _options, _sampler);
            _updater = new PolicyUpdater(policy, _options, reference, _adapters);
        }
        catch
        {
            _adapters?.Dispose();
            throw;
        }

        Examples = examples;
        try
        {
            _layout = new ShardLayout(options.ProcessGroup ?? ProcessGroups.FromEnvironment(), options.Shards, options.BatchSize);
            if (options.GradientAccumulationSteps > _layout.PerShard)
            {
                throw new ArgumentException($"GRPO option GradientAccumulationSteps = {options.GradientAccumulationSteps} is invalid: at most the prompts per shard ({_layout.PerShard}).", nameof(options));
            }
        }
        catch
        {
            _updater.Dispose();
            _adapters?.Dispose();
            throw;
        }

        _rewardNames = _options.Rewards.Terms.Select(t => t.Function.Name).ToArray();

        // Only the first process writes the run folder (metrics, checkpoints); the others hold the same state.
        _run = runFolder is null || _layout.Group.Rank != 0 ? null : new GrpoRunFolder(runFolder);
    }

    /// <summary>The processes this session trains with (one, unless started by <c>mpirun</c> or given in <see cref="GrpoOptions.ProcessGroup"/>).</summary>
    public IProcessGroup ProcessGroup => _layout.Group;

    /// <summary>Whether this is the process that writes metrics, checkpoints and results (rank 0).</summary>
    public bool IsMainProcess => _layout.Group.Rank == 0;

    /// <summary>The number of shards the global batch is cut into (<see cref="GrpoOptions.Shards"/>, resolved).</summary>
    public int ShardCount => _layout.Count;

    /// <summary>
    /// Whether training should stop now: true when <paramref name="cancellationToken"/> is cancelled on any process. A
    /// collective call: every process calls it at the same point (between steps), so that all stop at the same step.
    /// </summary>
    /// <param name="cancellationToken">This process's stop request (Ctrl-C, SIGTERM).</param>
    /// <returns>Whether any process asked to stop.</returns>
    public bool ShouldStop(CancellationToken cancellationToken) => _layout.Group.AnyProcess(cancellationToken.IsCancellationRequested);

    /// <summary>The policy being trained.</summary>
    public IVisionLanguagePolicy Policy { get; }

    /// <summary>The frozen reference policy (null when β = 0, and with LoRA, whose reference is the policy with its adapters off).</summary>
    public IVisionLanguagePolicy? Reference => _updater.Reference;

    /// <summary>The LoRA adapters being trained (null without <see cref="GrpoOptions.Lora"/>).</summary>
    public LoraAdapters? Adapters => _adapters;

    /// <summary>Number of weights the optimizer updates (the adapters' with LoRA).</summary>
    public long TrainableParameterCount => _updater.OptimisedParameters.Sum(p => p.numel());

    /// <summary>The training prompts (without those left out for an unusable image).</summary>
    public IReadOnlyList<GrpoExample> Examples { get; }

    /// <summary>
    /// Examples left out because their image could not be used (<see cref="GrpoOptions.SkipInvalidImages"/>): the
    /// example's index in the list given to the session, and the reason naming the image.
    /// </summary>
    public IReadOnlyList<(int Index, string Reason)> SkippedExamples { get; private set; } = Array.Empty<(int, string)>();

    /// <summary>Optimiser steps completed.</summary>
    public int Step { get; private set; }

    /// <summary>Steps skipped so far because rewards, loss or gradients were not finite.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>Non-finite steps in a row right now.</summary>
    public int ConsecutiveNonFinite { get; private set; }

    /// <summary>Folder of metrics and checkpoints (null when none).</summary>
    public string? RunFolder => _run?.Folder;

    /// <summary>The options in use.</summary>
    public GrpoOptions Options => _options;

    /// <summary>Receives every step's metrics.</summary>
    public IProgress<GrpoStepMetrics>? Progress { get; set; }

    /// <summary>Receives one human-readable line per step (for example ML.NET's log channel).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>
    /// Resumes from a checkpoint written by an earlier run: loads the policy (owned by the returned trainer), the
    /// reference, the optimiser state and the counters. The options must match the run's recorded settings.
    /// </summary>
    /// <param name="checkpointFolder">A <c>checkpoint-N</c> folder.</param>
    /// <param name="examples">The same training prompts.</param>
    /// <param name="options">The same options (<see cref="GrpoOptions.Steps"/> may grow).</param>
    /// <param name="sampler">The same sampler; default uniform.</param>
    /// <param name="runFolder">Run folder; its <c>metrics.jsonl</c> is cut back to the checkpoint's step.</param>
    /// <param name="device">Device for the loaded policies.</param>
    /// <param name="allowChanged">
    /// Names of recorded settings that may differ from the checkpoint's (a deliberate change, e.g. <c>learning_rate</c>,
    /// or <c>data</c> for other training data); each difference allowed is reported through <paramref name="warn"/>.
    /// Null or empty allows none.
    /// </param>
    /// <param name="warn">Receives one line per allowed difference.</param>
    /// <returns>A trainer that continues at step N + 1.</returns>
    /// <exception cref="InvalidOperationException">A setting or the data differs and is not allowed; the message names every difference.</exception>
    public static GrpoSession Resume(string checkpointFolder, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler = null,
        string? runFolder = null, string device = "auto", IReadOnlyCollection<string>? allowChanged = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(examples);
        var checkpoint = GrpoCheckpoint.Read(checkpointFolder);
        checkpoint.RequireSameSettings(SettingsOf(options, examples), allowChanged, warn);
        var policy = PolicyRegistry.Load(Path.Combine(checkpointFolder, GrpoCheckpoint.PolicyFolder), device);
        IVisionLanguagePolicy? reference = null;
        LoraAdapters? adapters = null;
        try
        {
            if (options.Lora is not null)
            {
                if (!checkpoint.HasAdapter)
                {
                    throw new InvalidDataException($"Checkpoint '{checkpointFolder}' has no {GrpoCheckpoint.AdapterFolder}/ but the options ask for LoRA.");
                }

                var model = policy.AdapterModel
                    ?? throw new InvalidDataException($"Checkpoint '{checkpointFolder}' holds a {policy.ModelType} policy, which cannot take LoRA adapters.");
                adapters = LoraAdapters.Load(model, Path.Combine(checkpointFolder, GrpoCheckpoint.AdapterFolder));
            }
            else if (options.Beta > 0)
            {
                if (!checkpoint.HasReference)
                {
                    throw new InvalidDataException($"Checkpoint '{checkpointFolder}' has no {GrpoCheckpoint.ReferenceFolder}/ but β = {options.Beta} needs one.");
                }

                var loaded = PolicyRegistry.Load(Path.Combine(checkpointFolder, GrpoCheckpoint.ReferenceFolder), device);
                reference = loaded.CreateFrozenCopy();
                loaded.Dispose();
            }

            var trainer = new GrpoSession(policy, examples, options, sampler, runFolder, reference, adapters, ownsPolicy: true);
            adapters = null;
            trainer._updater.LoadOptimizer(Path.Combine(checkpointFolder, GrpoCheckpoint.OptimizerFile));
            trainer._collector.ReadState(Path.Combine(checkpointFolder, GrpoCheckpoint.GdqaStateFile));
            trainer.Step = checkpoint.Step;
            trainer.SkippedSteps = checkpoint.SkippedSteps;
            trainer.ConsecutiveNonFinite = checkpoint.ConsecutiveNonFinite;
            trainer._run?.TrimMetrics(trainer.Step);
            return trainer;
        }
        catch
        {
            adapters?.Dispose();
            reference?.Dispose();
            policy.Dispose();
            throw;
        }
    }

    /// <summary>Runs steps until <see cref="GrpoOptions.Steps"/> (or cancellation, after the current step).</summary>
    /// <param name="cancellationToken">Stops training between steps.</param>
    /// <returns>The metrics of the steps run by this call.</returns>
    /// <exception cref="GrpoTrainingException">Too many non-finite steps in a row.</exception>
    public IReadOnlyList<GrpoStepMetrics> Train(CancellationToken cancellationToken = default)
    {
        var history = new List<GrpoStepMetrics>();
        while (Step < _options.Steps && !ShouldStop(cancellationToken))
        {
            history.Add(RunStep());
        }

        return history;
    }

    /// <summary>Runs one optimiser step (generating a new batch first when the previous one is used up).</summary>
    /// <returns>The step's metrics.</returns>
    /// <exception cref="GrpoTrainingException">Too many non-finite steps in a row.</exception>
    public GrpoStepMetrics RunStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_adaptersMerged)
        {
            throw new InvalidOperationException("The LoRA adapters were merged into the policy (MergeAdapters or ReleasePolicy); this session cannot train further.");
        }

        int step = Step + 1;
        var clock = Stopwatch.StartNew();
        var metrics = new List<KeyValuePair<string, double>>();
        void Add(string name, double value) => metrics.Add(new(name, value));
        double lr = _updater.SetLearningRates(step);
        bool finite;
        if (_layout.Distributed && _weightsCheckedAt < 0)
        {
            CheckSettings(step);
        }

        if (_layout.Distributed && _options.WeightCheckEvery > 0 && (_weightsCheckedAt < 0 || step - _weightsCheckedAt >= _options.WeightCheckEvery))
        {
            CheckWeights(step);
        }

        // Rollouts run without a no-GC region (decoding leaves no scalar to the finalizer); the reference and update
        // passes and TorchSharp's AdamW still create temporary scalars, so they run inside one.
        bool fresh = _batches is null;
        if (fresh)
        {
            _batches = _collector.Collect(step, _layout);
            _view = BatchGather.Gather(_batches, _layout, _rewardNames, _options.NumGenerations);
        }

        var batches = _batches!;
        var view = _view!;
        using (TorchRuntime.UseThreads(_options.UpdateThreads))
        using (GcQuietRegion.Enter(128L * 1024 * 1024))
        {
            if (fresh && view.Finite)
            {
                _updater.Prepare(batches, view, _layout, _collector);
            }

            RolloutMetrics.Add(view, Examples, _options, Add);
            finite = view.Finite && _updater.Optimise(batches, view, _layout, step, Add);
        }

        view.Fresh = false;
        foreach (var batch in batches)
        {
            batch.Uses++;
        }

        if (batches[0].Uses >= _options.NumIterations || !view.Finite)
        {
            foreach (var batch in batches)
            {
                batch.Dispose();
            }

            _batches = null;
            _view = null;
        }

        Step = step;
        if (finite)
        {
            ConsecutiveNonFinite = 0;
        }
        else
        {
            SkippedSteps++;
            ConsecutiveNonFinite++;
            _updater.ZeroGrad();
        }

        Add("learning_rate", lr);
        Add("skipped_steps", SkippedSteps);
        foreach (var (name, value) in _sampler.Metrics(step))
        {
            Add(name, value);
        }

        double stepTime = clock.Elapsed.TotalSeconds;
        Add("step_time", stepTime);
        var record = new GrpoStepMetrics(step, metrics);
        Report(record);
        if (ConsecutiveNonFinite >= _options.MaxConsecutiveNonFiniteSteps)
        {
            throw new GrpoTrainingException(
                $"GRPO stopped at step {step}: {ConsecutiveNonFinite} steps in a row had non-finite rewards, loss or gradients " +
                $"(MaxConsecutiveNonFiniteSteps = {_options.MaxConsecutiveNonFiniteSteps}). Check the reward functions and lower the learning rate.");
        }

        if (_options.CheckpointEvery > 0 && step % _options.CheckpointEvery == 0)
        {
            _checkpointDue = true;
        }

        if (_run is not null && (_checkpointDue || step == _options.Steps) && _batches is null && _options.CheckpointEvery > 0)
        {
            SaveCheckpoint(_run.CheckpointPath(step));
            _run.PruneCheckpoints(_options.KeepCheckpoints);
            _checkpointDue = false;
        }

        return record;
    }

    /// <summary>
    /// Writes a checkpoint of the current state. Only possible between generation batches (with μ &gt; 1 the rollouts
    /// in use are not stored); <see cref="RunStep"/> defers scheduled checkpoints accordingly. In a data-parallel run
    /// only the main process writes (every process holds the same state); the others return at once.
    /// </summary>
    /// <param name="folder">Destination folder.</param>
    /// <exception cref="InvalidOperationException">A generation batch is still in use.</exception>
    public void SaveCheckpoint(string folder)
    {
        if (_batches is not null)
        {
            throw new InvalidOperationException($"Step {Step} is inside a generation batch (NumIterations = {_options.NumIterations}); checkpoint after its last update.");
        }

        if (!IsMainProcess)
        {
            return;
        }

        GrpoCheckpoint.Write(folder, Step, ConsecutiveNonFinite, SkippedSteps, SettingsOf(_options, Examples), staging =>
        {
            // With LoRA the policy's own weights are the unchanged base (the adapters live beside it).
            Policy.Save(Path.Combine(staging, GrpoCheckpoint.PolicyFolder));
            Reference?.Save(Path.Combine(staging, GrpoCheckpoint.ReferenceFolder));
            _adapters?.Save(Path.Combine(staging, GrpoCheckpoint.AdapterFolder), baseModelNameOrPath: null);
            _updater.SaveOptimizer(Path.Combine(staging, GrpoCheckpoint.OptimizerFile));
            File.WriteAllText(Path.Combine(staging, GrpoCheckpoint.GdqaStateFile), _collector.StateJson());
        });
    }

    /// <summary>
    /// Hands the policy to the caller: the trainer will no longer dispose it (relevant for a trainer made by
    /// <see cref="Resume"/>, which owns the policy it loaded). With LoRA the adapters are merged into the policy's
    /// weights first (<see cref="MergeAdapters"/>), so the policy alone carries what was trained.
    /// </summary>
    /// <returns>The policy.</returns>
    public IVisionLanguagePolicy ReleasePolicy()
    {
        MergeAdapters();
        _ownsPolicy = false;
        return Policy;
    }

    /// <summary>
    /// Saves the LoRA adapters in PEFT's layout (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>), which
    /// <see cref="LoraAdapters.Load"/> and Python's PEFT read.
    /// </summary>
    /// <param name="folder">Destination folder (written beside it and renamed into place).</param>
    /// <param name="baseModelNameOrPath">The base model's name or path for the adapter configuration, or null.</param>
    /// <exception cref="InvalidOperationException">The session trains without LoRA.</exception>
    public void SaveAdapters(string folder, string? baseModelNameOrPath = null)
    {
        var adapters = _adapters ?? throw new InvalidOperationException("This GRPO session trains without LoRA adapters (GrpoOptions.Lora is null).");
        adapters.Save(folder, baseModelNameOrPath);
    }

    /// <summary>
    /// Merges the LoRA adapters into the policy's weights and detaches them, leaving a plain policy whose
    /// <see cref="IVisionLanguagePolicy.Save"/> writes the trained model (a folder that <c>--model</c> loads). The
    /// session cannot train further afterwards. Does nothing without LoRA or when already merged.
    /// </summary>
    public void MergeAdapters()
    {
        if (_adapters is null || _adaptersMerged)
        {
            return;
        }

        _adapters.Merge();
        _adapters.Detach(keepMerged: true);
        _adaptersMerged = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var batch in _batches ?? new List<RolloutBatch>())
        {
            batch.Dispose();
        }

        _updater.Dispose();

        // Unmerged adapters are detached: the policy returns to its base weights (save the adapters first to keep them).
        _adapters?.Dispose();
        if (!_ownsPolicy)
        {
            Policy.GradientCheckpointing = _previousCheckpointing;
        }

        if (_ownsPolicy)
        {
            Policy.Dispose();
        }
    }

    /// <summary>
    /// Every setting that changes what a run computes, and a fingerprint of its training data: a resumed run must match
    /// them to continue the same run. <see cref="GrpoOptions.Steps"/> may grow (the curriculum's schedule, which depends
    /// on it, is recorded instead); logging and checkpointing settings are not recorded.
    /// </summary>
    internal static JsonObject SettingsOf(GrpoOptions o, IReadOnlyList<GrpoExample> examples)
    {
        var settings = RecordedSettings(o, examples);
        if (EffectiveShards(o) is int shards and > 1)
        {
            // What a run samples depends on its shards (not on its processes); one shard is not recorded, as before.
            settings["shards"] = shards;
        }

        return settings;
    }

    private static JsonObject RecordedSettings(GrpoOptions o, IReadOnlyList<GrpoExample> examples) => new()
    {
        ["seed"] = o.Seed,
        ["data"] = DataFingerprint(examples),
        ["learning_rate"] = o.LearningRate,
        ["vision_learning_rate"] = o.VisionLearningRate,
        ["weight_decay"] = o.WeightDecay,
        ["warmup_steps"] = o.WarmupSteps,
        ["max_gradient_norm"] = o.MaxGradientNorm,
        ["epsilon_low"] = o.EpsilonLow,
        ["epsilon_high"] = o.EpsilonHigh,
        ["scale_rewards"] = o.ScaleRewards.ToString(),
        ["temperature"] = o.Generation.Temperature,
        ["top_k"] = o.Generation.TopK,
        ["top_p"] = o.Generation.TopP,
        ["dynamic_sampling"] = o.DynamicSampling,
        ["max_resamples"] = o.MaxResamples,
        ["gpg"] = o.Gpg,
        ["mask_truncated_completions"] = o.MaskTruncatedCompletions,
        ["rewards"] = new JsonArray(o.Rewards.Terms.Select(t => (JsonNode?)new JsonObject { ["name"] = t.Function.Name, ["type"] = t.Function.GetType().FullName, ["weight"] = t.Weight }).ToArray()),
        ["batch_size"] = o.BatchSize,
        ["num_generations"] = o.NumGenerations,
        ["num_iterations"] = o.NumIterations,
        ["gradient_accumulation_steps"] = o.GradientAccumulationSteps,
        ["max_new_tokens"] = o.Generation.MaxNewTokens,
        ["beta"] = o.Beta,
        ["loss_type"] = o.Loss is { } custom ? custom.GetType().FullName : o.LossType.ToString(),
        ["freeze_vision_encoder"] = o.FreezeVisionEncoder,
        ["lora"] = o.Lora is { } lora
            ? new JsonObject
            {
                ["rank"] = lora.Rank,
                ["alpha"] = lora.Alpha,
                ["use_rslora"] = lora.UseRsLora,
                ["dropout"] = lora.Dropout,
                ["target_modules"] = new JsonArray(lora.TargetModules.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
                ["exclude_modules"] = new JsonArray((lora.ExcludeModules ?? Array.Empty<string>()).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            }
            : null,
        ["gdqa"] = o.Gdqa is { } gd ? new JsonObject { ["mode"] = gd.Mode.ToString(), ["max_forms"] = gd.MaxForms } : null,
        ["curriculum"] = o.Curriculum is { } c
            ? new JsonObject { ["pacing"] = c.Pacing.ToString(), ["start_fraction"] = c.StartFraction, ["full_data_step"] = c.FullDataStepFor(o.Steps), ["stage_count"] = c.StageCount }
            : null,
    };

    /// <summary>The shards a run with these options cuts its batch into (recorded only when more than one, so older checkpoints still match).</summary>
    private static int EffectiveShards(GrpoOptions o) => o.Shards > 0 ? o.Shards : (o.ProcessGroup?.Size ?? ProcessGroups.LaunchedProcesses);

    /// <summary>
    /// SHA-256 (first 16 bytes, hex) over every example in order: question, options, correct index, answer, answer
    /// class, image file name and size (or "in-memory"), S(q), curriculum stage and question variants. The order
    /// matters because prompt draws are indices into it.
    /// </summary>
    internal static string DataFingerprint(IReadOnlyList<GrpoExample> examples)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(string? text)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text ?? "\u0000null"));
            hash.AppendData(new byte[] { 0 });
        }

        void AddSample(VqaSample s)
        {
            Add(s.Question);
            Add(string.Join("\u001f", s.Options));
            Add(s.CorrectIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add(s.Answer);
            Add(s.AnswerClass);
        }

        Add(examples.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var example in examples)
        {
            AddSample(example.Sample);
            if (example.Image is not null)
            {
                Add("in-memory");
            }
            else
            {
                var file = new FileInfo(example.Sample.ImagePath ?? string.Empty);
                Add(file.Name);
                Add(file.Exists ? file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : "missing");
            }

            Add(example.OptionSimilarity?.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            Add(example.CurriculumStage?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var variant in example.Variants ?? Array.Empty<VqaSample>())
            {
                AddSample(variant);
            }

            Add("end");
        }

        return Convert.ToHexString(hash.GetHashAndReset(), 0, 16).ToLowerInvariant();
    }

    /// <summary>Prepares every distinct image once through the policy's image processor (what training will do).</summary>
    private static (IReadOnlyList<GrpoExample> Usable, IReadOnlyList<(int Index, string Reason)> Skipped) CheckImages(
        IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, bool skip)
    {
        var verdicts = new Dictionary<string, string?>(StringComparer.Ordinal);
        var usable = new List<GrpoExample>(examples.Count);
        var skipped = new List<(int, string)>();
        for (int i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            string? problem;
            string? key = example.Image is null ? example.Sample.ImagePath : null;
            if (key is null || !verdicts.TryGetValue(key, out problem))
            {
                try
                {
                    _ = policy.ImageProcessor.Prepare(example.ImageOrFile());
                    problem = null;
                }
                catch (Exception ex) when (ex is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
                {
                    problem = ex.Message;
                }

                if (key is not null)
                {
                    verdicts[key] = problem;
                }
            }

            if (problem is null)
            {
                usable.Add(example);
                continue;
            }

            string reason = $"Training example {i} ({SampleSource.Describe(example.Sample)}): {problem}";
            if (!skip)
            {
                throw new InvalidDataException(reason + " (GrpoOptions.SkipInvalidImages, or --lenient, leaves such examples out).");
            }

            skipped.Add((i, reason));
        }

        return (skipped.Count == 0 ? examples : usable, skipped);
    }

    /// <summary>
    /// Before the first step: compares a hash of every recorded setting and of the training data over the processes (a
    /// process with other options, other data or other shards would call collectives of other lengths) and stops with
    /// an error when they differ.
    /// </summary>
    private void CheckSettings(int step)
    {
        byte[] digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(SettingsOf(_options, Examples).ToJsonString()));
        double mine = BitConverter.ToUInt32(digest, 0);
        int n = _layout.Group.Size;
        var all = new double[n];
        all[_layout.Group.Rank] = mine;
        _layout.Group.GatherBySum(all);
        if (all.Any(v => !v.Equals(all[0])))
        {
            string list = string.Join(", ", all.Select((v, r) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"process {r}: {(uint)v:x8}")));
            _weightsCheckedAt = step;
            throw new GrpoTrainingException($"The processes' settings or training data differ before step {step} (hashes {list}). Every process must run the same command with the same data files and options.");
        }
    }

    /// <summary>
    /// Compares the processes' weights (the sum and the sum of squares of every parameter of the policy — the base
    /// weights too with LoRA — and of the trained ones, in float64) and stops with an error naming every process's
    /// checksum when they differ.
    /// </summary>
    private void CheckWeights(int step)
    {
        double sum = 0, squares = 0;
        var seen = new HashSet<IntPtr>();
        var parameters = (Policy.AdapterModel?.parameters() ?? Policy.TrainableParameters()).Concat(_updater.OptimisedParameters);
        using (var scope = global::TorchSharp.torch.NewDisposeScope())
        using (global::TorchSharp.torch.no_grad())
        {
            foreach (var p in parameters.Where(p => seen.Add(p.Handle)))
            {
                var x = p.detach().to(global::TorchSharp.torch.ScalarType.Float64);
                sum += x.sum().item<double>();
                squares += (x * x).sum().item<double>();
            }
        }

        int n = _layout.Group.Size;
        var all = new double[2 * n];
        all[2 * _layout.Group.Rank] = sum;
        all[(2 * _layout.Group.Rank) + 1] = squares;
        _layout.Group.GatherBySum(all);
        _weightsCheckedAt = step;
        bool same = Enumerable.Range(1, n - 1).All(r => all[2 * r].Equals(all[0]) && all[(2 * r) + 1].Equals(all[1]));
        if (!same)
        {
            string list = string.Join("; ", Enumerable.Range(0, n).Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"process {r}: sum {all[2 * r]:R}, sum of squares {all[(2 * r) + 1]:R}")));
            throw new GrpoTrainingException($"The processes' weights differ before step {step} ({list}). Every process must start from the same policy and run deterministically; check that all load the same model files.");
        }
    }

    private void Report(GrpoStepMetrics record)
    {
        _run?.Append(record);

        Progress?.Report(record);
        Log?.Invoke(record.ToString());
    }
}
