using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training.Grpo.Losses;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = global::TorchSharp.Modules.Parameter;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Group Relative Policy Optimisation of a vision-language policy on multiple-choice questions. Each generation batch:
/// draw B prompts, sample G completions each (shared-prefix generation), score them with the reward functions,
/// turn rewards into group-relative advantages, then take μ optimiser steps on the clipped per-token objective with
/// a k3 KL penalty to a frozen reference. Metrics of every step go to <see cref="Progress"/>, <see cref="Log"/> and,
/// with a run folder, to <c>metrics.jsonl</c>; checkpoints go to <c>checkpoints/checkpoint-N</c>.
/// </summary>
/// <remarks>
/// The steps are separate methods (rollout, scoring, advantages, loss) so each can be tested alone. Determinism: all
/// randomness derives from (<see cref="GrpoOptions.Seed"/>, step, attempt), so a run resumed from a checkpoint draws
/// and samples exactly what the uninterrupted run did. Each step runs inside one TorchSharp dispose scope.
/// </remarks>
public sealed class GrpoTrainer : IDisposable
{
    /// <summary>File name of the metrics log inside the run folder.</summary>
    public const string MetricsFile = "metrics.jsonl";

    /// <summary>Sub-folder of the run folder holding checkpoints.</summary>
    public const string CheckpointsFolder = "checkpoints";

    private readonly IReadOnlyList<GrpoExample> _examples;
    private readonly GrpoOptions _options;
    private readonly IGrpoPromptSampler _sampler;
    private readonly GrpoLoss _loss;
    private readonly ImageTensors _images;
    private readonly global::TorchSharp.Modules.AdamW _optimizer;
    private readonly List<Parameter> _languageParameters;
    private readonly List<Parameter> _visionParameters;
    private readonly List<Parameter> _frozen = new();
    private bool _ownsPolicy;
    private IVisionLanguagePolicy? _reference;
    private RolloutBuffer? _buffer;
    private readonly sbyte[] _lastZeroStd;
    private bool _checkpointDue;
    private bool _disposed;

    /// <summary>Creates a trainer for a policy (not owned: the caller disposes it).</summary>
    /// <param name="policy">The policy to train in place.</param>
    /// <param name="examples">Training prompts.</param>
    /// <param name="options">Options (validated here).</param>
    /// <param name="sampler">Prompt sampler; default uniform with the options' seed.</param>
    /// <param name="runFolder">Folder for metrics and checkpoints; null keeps everything in memory.</param>
    /// <exception cref="ArgumentException">An option is invalid or there are no examples.</exception>
    public GrpoTrainer(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler = null, string? runFolder = null)
        : this(policy, examples, options, sampler, runFolder, reference: null, ownsPolicy: false)
    {
    }

    private GrpoTrainer(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler, string? runFolder,
        IVisionLanguagePolicy? reference, bool ownsPolicy)
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

        Policy = policy;
        _ownsPolicy = ownsPolicy;
        _examples = examples;
        _options = options.Clone();
        if (sampler is not null && options.Curriculum is not null)
        {
            throw new ArgumentException("Pass either a prompt sampler or GrpoOptions.Curriculum, not both.", nameof(sampler));
        }

        _sampler = sampler
            ?? (options.Curriculum is { } curriculum ? new CurriculumPromptSampler(examples, curriculum, options.Steps, options.Seed) : new UniformPromptSampler(examples.Count, options.Seed));
        _loss = GrpoLoss.For(options.LossType);
        _images = new ImageTensors(policy.ImageSize);
        _lastZeroStd = new sbyte[examples.Count];
        Array.Fill(_lastZeroStd, (sbyte)-1);
        RunFolder = runFolder;

        var vision = new HashSet<IntPtr>(policy.VisionEncoderParameters().Select(p => p.Handle));
        _visionParameters = policy.TrainableParameters().Where(p => vision.Contains(p.Handle)).ToList();
        _languageParameters = policy.TrainableParameters().Where(p => !vision.Contains(p.Handle)).ToList();
        if (options.FreezeVisionEncoder)
        {
            foreach (var p in _visionParameters)
            {
                p.requires_grad = false;
                _frozen.Add(p);
            }

            _visionParameters.Clear();
        }

        var groups = new List<global::TorchSharp.Modules.AdamW.ParamGroup>
        {
            new(_languageParameters, lr: options.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay, amsgrad: false, maximize: false),
        };
        if (_visionParameters.Count > 0)
        {
            groups.Add(new(_visionParameters, lr: options.VisionLearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay, amsgrad: false, maximize: false));
        }

        _optimizer = optim.AdamW(groups, options.LearningRate);
        _reference = reference ?? (options.Beta > 0 ? policy.CreateFrozenCopy() : null);
        if (runFolder is not null)
        {
            Directory.CreateDirectory(runFolder);
        }
    }

    /// <summary>The policy being trained.</summary>
    public IVisionLanguagePolicy Policy { get; }

    /// <summary>The frozen reference policy (null when β = 0).</summary>
    public IVisionLanguagePolicy? Reference => _reference;

    /// <summary>Optimiser steps completed.</summary>
    public int Step { get; private set; }

    /// <summary>Steps skipped so far because rewards, loss or gradients were not finite.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>Non-finite steps in a row right now.</summary>
    public int ConsecutiveNonFinite { get; private set; }

    /// <summary>Folder of metrics and checkpoints (null when none).</summary>
    public string? RunFolder { get; }

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
    /// <returns>A trainer that continues at step N + 1.</returns>
    public static GrpoTrainer Resume(string checkpointFolder, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler? sampler = null,
        string? runFolder = null, string device = "auto")
    {
        ArgumentNullException.ThrowIfNull(options);
        var checkpoint = GrpoCheckpoint.Read(checkpointFolder);
        checkpoint.RequireSameSettings(SettingsOf(options));
        var policy = TinyVlmPolicy.Load(Path.Combine(checkpointFolder, GrpoCheckpoint.PolicyFolder), device);
        IVisionLanguagePolicy? reference = null;
        try
        {
            if (options.Beta > 0)
            {
                if (!checkpoint.HasReference)
                {
                    throw new InvalidDataException($"Checkpoint '{checkpointFolder}' has no {GrpoCheckpoint.ReferenceFolder}/ but β = {options.Beta} needs one.");
                }

                var loaded = TinyVlmPolicy.Load(Path.Combine(checkpointFolder, GrpoCheckpoint.ReferenceFolder), device);
                reference = loaded.CreateFrozenCopy();
                loaded.Dispose();
            }

            var trainer = new GrpoTrainer(policy, examples, options, sampler, runFolder, reference, ownsPolicy: true);
            trainer._optimizer.load_state_dict(Path.Combine(checkpointFolder, GrpoCheckpoint.OptimizerFile));
            trainer.ReadGdqaState(Path.Combine(checkpointFolder, GrpoCheckpoint.GdqaStateFile));
            trainer.Step = checkpoint.Step;
            trainer.SkippedSteps = checkpoint.SkippedSteps;
            trainer.ConsecutiveNonFinite = checkpoint.ConsecutiveNonFinite;
            trainer.TrimMetricsLog();
            return trainer;
        }
        catch
        {
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
        while (Step < _options.Steps && !cancellationToken.IsCancellationRequested)
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
        int step = Step + 1;
        var clock = Stopwatch.StartNew();
        var metrics = new List<KeyValuePair<string, double>>();
        void Add(string name, double value) => metrics.Add(new(name, value));
        double lr = _options.LearningRate * LearningRateScale(step);
        var paramGroups = _optimizer.ParamGroups.ToList();
        paramGroups[0].LearningRate = lr;
        if (paramGroups.Count > 1)
        {
            paramGroups[1].LearningRate = _options.VisionLearningRate * LearningRateScale(step);
        }

        bool finite;
        using (GcQuietRegion.Enter(128L * 1024 * 1024))
        {
            _buffer ??= Generate(step);
            var buffer = _buffer;
            AddRolloutMetrics(buffer, Add);
            finite = buffer.Finite && Optimise(buffer, Add);
            buffer.Uses++;
            if (buffer.Uses >= _options.NumIterations || !buffer.Finite)
            {
                buffer.Dispose();
                _buffer = null;
            }
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
            _optimizer.zero_grad();
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

        if (RunFolder is not null && (_checkpointDue || step == _options.Steps) && _buffer is null && _options.CheckpointEvery > 0)
        {
            SaveCheckpoint(Path.Combine(RunFolder, CheckpointsFolder, GrpoCheckpoint.FolderName(step)));
            PruneCheckpoints();
            _checkpointDue = false;
        }

        return record;
    }

    /// <summary>
    /// Writes a checkpoint of the current state. Only possible between generation batches (with μ &gt; 1 the rollouts
    /// in use are not stored); <see cref="RunStep"/> defers scheduled checkpoints accordingly.
    /// </summary>
    /// <param name="folder">Destination folder.</param>
    /// <exception cref="InvalidOperationException">A generation batch is still in use.</exception>
    public void SaveCheckpoint(string folder)
    {
        if (_buffer is not null)
        {
            throw new InvalidOperationException($"Step {Step} is inside a generation batch (NumIterations = {_options.NumIterations}); checkpoint after its last update.");
        }

        GrpoCheckpoint.Write(folder, Step, ConsecutiveNonFinite, SkippedSteps, SettingsOf(_options), staging =>
        {
            Policy.Save(Path.Combine(staging, GrpoCheckpoint.PolicyFolder));
            _reference?.Save(Path.Combine(staging, GrpoCheckpoint.ReferenceFolder));
            _optimizer.save_state_dict(Path.Combine(staging, GrpoCheckpoint.OptimizerFile));
            File.WriteAllText(Path.Combine(staging, GrpoCheckpoint.GdqaStateFile), new JsonArray(_lastZeroStd.Select(v => (JsonNode)JsonValue.Create((int)v)).ToArray()).ToJsonString());
        });
    }

    /// <summary>
    /// Hands the policy to the caller: the trainer will no longer dispose it (relevant for a trainer made by
    /// <see cref="Resume"/>, which owns the policy it loaded).
    /// </summary>
    /// <returns>The policy.</returns>
    public IVisionLanguagePolicy ReleasePolicy()
    {
        _ownsPolicy = false;
        return Policy;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _buffer?.Dispose();
        _optimizer.Dispose();
        _reference?.Dispose();
        foreach (var p in _frozen)
        {
            p.requires_grad = true;
        }

        if (_ownsPolicy)
        {
            Policy.Dispose();
        }
    }

    internal static JsonObject SettingsOf(GrpoOptions o) => new()
    {
        ["seed"] = o.Seed,
        ["batch_size"] = o.BatchSize,
        ["num_generations"] = o.NumGenerations,
        ["num_iterations"] = o.NumIterations,
        ["gradient_accumulation_steps"] = o.GradientAccumulationSteps,
        ["max_new_tokens"] = o.MaxNewTokens,
        ["beta"] = o.Beta,
        ["loss_type"] = o.LossType.ToString(),
        ["freeze_vision_encoder"] = o.FreezeVisionEncoder,
        ["gdqa"] = o.Gdqa is { } gd ? new JsonObject { ["mode"] = gd.Mode.ToString(), ["max_forms"] = gd.MaxForms } : null,
        ["curriculum"] = o.Curriculum is { } c
            ? new JsonObject { ["pacing"] = c.Pacing.ToString(), ["start_fraction"] = c.StartFraction, ["full_data_step"] = c.FullDataStepFor(o.Steps), ["stage_count"] = c.StageCount }
            : null,
    };

    private void ReadGdqaState(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var values = JsonNode.Parse(File.ReadAllText(path)) as JsonArray;
        if (values is null || values.Count != _lastZeroStd.Length)
        {
            throw new InvalidDataException($"{path}: expected an array of {_lastZeroStd.Length} values (one per training prompt); resume with the same examples.");
        }

        for (int i = 0; i < values.Count; i++)
        {
            _lastZeroStd[i] = values[i] is JsonValue v && v.TryGetValue(out int x) && x is >= -1 and <= 1 ? (sbyte)x
                : throw new InvalidDataException($"{path}: element {i} is not −1, 0 or 1.");
        }
    }

    private double LearningRateScale(int step) => _options.WarmupSteps == 0 ? 1.0 : Math.Min(1.0, (double)step / _options.WarmupSteps);

    private void Report(GrpoStepMetrics record)
    {
        if (RunFolder is not null)
        {
            File.AppendAllText(Path.Combine(RunFolder, MetricsFile), record.ToJsonLine() + "\n");
        }

        Progress?.Report(record);
        Log?.Invoke(record.ToString());
    }

    private void TrimMetricsLog()
    {
        if (RunFolder is null)
        {
            return;
        }

        string path = Path.Combine(RunFolder, MetricsFile);
        if (!File.Exists(path))
        {
            return;
        }

        var kept = File.ReadAllLines(path).Where(l => l.Length > 0).Where(l => GrpoStepMetrics.FromJsonLine(l).Step <= Step).ToList();
        AnatomyR1.IO.AtomicFile.WriteAllText(path, kept.Count == 0 ? string.Empty : string.Join("\n", kept) + "\n");
    }

    private void PruneCheckpoints()
    {
        if (_options.KeepCheckpoints == 0 || RunFolder is null)
        {
            return;
        }

        var all = GrpoCheckpoint.List(Path.Combine(RunFolder, CheckpointsFolder));
        foreach (var (_, folder) in all.Take(Math.Max(0, all.Count - _options.KeepCheckpoints)))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // ---- generation and scoring ----

    private RolloutBuffer Generate(int step)
    {
        var clock = Stopwatch.StartNew();
        var indices = _sampler.Draw(step, 0, _options.BatchSize);
        var groups = Rollout(indices, step, 0, out double rewardSeconds);
        var before = groups.Select(g => g.ZeroStd).ToArray();
        int resampled = 0;
        for (int attempt = 1; _options.DynamicSampling && attempt <= _options.MaxResamples && groups.Any(g => g.ZeroStd && g.Finite); attempt++)
        {
            var zero = groups.Select(g => g.ZeroStd).ToArray();
            var candidates = Rollout(_sampler.Draw(step, attempt, zero.Count(z => z)), step, attempt, out double seconds);
            rewardSeconds += seconds;
            foreach (var (slot, candidate) in DynamicSampling.Select(zero, candidates.Select(c => c.ZeroStd || !c.Finite).ToArray()))
            {
                groups[slot] = candidates[candidate];
                resampled++;
            }
        }

        double generationSeconds = clock.Elapsed.TotalSeconds - rewardSeconds;
        var buffer = new RolloutBuffer(groups, before, resampled, generationSeconds, rewardSeconds);
        if (buffer.Finite)
        {
            PrepareTensors(buffer);
        }

        return buffer;
    }

    private List<GroupRollout> Rollout(IReadOnlyList<int> indices, int step, int attempt, out double rewardSeconds)
    {
        int g = _options.NumGenerations;
        var plans = indices.Select(Plan).ToList();
        var groups = new GroupRollout?[indices.Count];
        Policy.SetTraining(false);
        using (var scope = NewDisposeScope())
        {
            // Groups that answer one form: the image and prompt are encoded once and expanded G ways (shared prefix).
            var plain = Enumerable.Range(0, indices.Count).Where(p => !plans[p].Spread).ToList();
            if (plain.Count > 0)
            {
                var prompts = plain.Select(p => PolicyPrompt.Format(plans[p].Forms[0])).ToList();
                var samples = Sample(plain.Select(p => indices[p]).ToList(), prompts, g, UniformPromptSampler.StepSeed(_options.Seed ^ 0x5EED, step, attempt));
                for (int j = 0; j < plain.Count; j++)
                {
                    int p = plain[j];
                    groups[p] = new GroupRollout(indices[p], plans[p].Forms, Enumerable.Repeat(prompts[j], g).ToList(), samples.Tokens[j], samples.Texts[j], samples.Truncated[j]);
                }
            }

            // GDQA groups: each completion has the prompt of its own question form.
            var spread = Enumerable.Range(0, indices.Count).Where(p => plans[p].Spread).ToList();
            if (spread.Count > 0)
            {
                var rows = spread.SelectMany(p => Enumerable.Repeat(indices[p], g)).ToList();
                var prompts = spread.SelectMany(p => plans[p].Forms.Select(PolicyPrompt.Format)).ToList();
                var samples = Sample(rows, prompts, 1, UniformPromptSampler.StepSeed(_options.Seed ^ 0x6D0A, step, attempt));
                for (int j = 0; j < spread.Count; j++)
                {
                    int p = spread[j];
                    var span = Enumerable.Range(j * g, g).ToList();
                    groups[p] = new GroupRollout(indices[p], plans[p].Forms, prompts.GetRange(j * g, g),
                        span.Select(r => samples.Tokens[r][0]).ToList(), span.Select(r => samples.Texts[r][0]).ToList(), span.Select(r => samples.Truncated[r][0]).ToList());
                }
            }
        }

        var result = groups.Select(x => x!).ToList();
        var clock = Stopwatch.StartNew();
        Score(result);
        rewardSeconds = clock.Elapsed.TotalSeconds;
        foreach (var group in result.Where(r => r.Finite))
        {
            _lastZeroStd[group.ExampleIndex] = group.ZeroStd ? (sbyte)1 : (sbyte)0;
        }

        return result;
    }

    /// <summary>The question form each of a prompt's G completions will answer.</summary>
    private (IReadOnlyList<VqaSample> Forms, bool Spread) Plan(int index)
    {
        var example = _examples[index];
        int g = _options.NumGenerations;
        if (_options.Gdqa is { } gdqa && example.Variants is { Count: > 1 } variants
            && (gdqa.Mode == GdqaMode.Static || _lastZeroStd[index] == 1))
        {
            var forms = gdqa.MaxForms > 0 ? variants.Take(gdqa.MaxForms).ToList() : variants.ToList();
            var counts = GroupSplit.Counts(g, forms.Count);
            return (forms.SelectMany((f, v) => Enumerable.Repeat(f, counts[v])).ToList(), true);
        }

        return (Enumerable.Repeat(example.Sample, g).ToList(), false);
    }

    /// <summary>Samples <paramref name="perPrompt"/> completions for each (example, prompt) pair.</summary>
    private (List<List<int[]>> Tokens, List<List<string>> Texts, List<List<bool>> Truncated) Sample(List<int> exampleIndices, List<string> prompts, int perPrompt, int seed)
    {
        var pixels = Pixels(exampleIndices);
        using var encoded = Policy.EncodePrompts(prompts);
        using var result = Policy.Generate(pixels, encoded, new GenerationOptions
        {
            NumReturnSequences = perPrompt,
            MaxNewTokens = _options.MaxNewTokens,
            Temperature = _options.Temperature,
            TopK = _options.TopK,
            TopP = _options.TopP,
            SharePrefix = _options.SharePrefix,
            Seed = seed,
        });
        long[] ids = result.Completions.Ids.cpu().data<long>().ToArray();
        long[] mask = result.Completions.Mask.cpu().data<long>().ToArray();
        int width = (int)result.Completions.Length;
        var tokens = new List<List<int[]>>(prompts.Count);
        var texts = new List<List<string>>(prompts.Count);
        var truncated = new List<List<bool>>(prompts.Count);
        for (int p = 0; p < prompts.Count; p++)
        {
            var own = new List<int[]>(perPrompt);
            for (int k = 0; k < perPrompt; k++)
            {
                int row = (p * perPrompt) + k;
                own.Add(Enumerable.Range(0, width).Where(c => mask[(row * width) + c] != 0).Select(c => (int)ids[(row * width) + c]).ToArray());
            }

            tokens.Add(own);
            texts.Add(result.Texts.Skip(p * perPrompt).Take(perPrompt).ToList());
            truncated.Add(result.Truncated.Skip(p * perPrompt).Take(perPrompt).ToList());
        }

        return (tokens, texts, truncated);
    }

    private void Score(List<GroupRollout> groups)
    {
        var texts = groups.SelectMany(g => g.Texts).ToList();
        var rows = groups.SelectMany(g => g.Forms.Select(form => RowOf(_examples[g.ExampleIndex], form))).ToList();
        var scores = _options.Rewards.Score(new RewardBatch(texts, rows), allowNonFinite: true);
        int offset = 0;
        foreach (var group in groups)
        {
            group.Rewards = scores.Total.Skip(offset).Take(group.Size).ToArray();
            group.PerFunction = scores.PerFunction.ToDictionary(p => p.Key, p => p.Value.Skip(offset).Take(group.Size).ToArray());
            offset += group.Size;
        }
    }

    private static RewardRow RowOf(GrpoExample example, VqaSample form) =>
        example.Columns is null ? new RewardRow(form) : new RewardRow(form, example.Columns);

    private Tensor Pixels(IReadOnlyList<int> indices)
    {
        int expected = 3 * Policy.ImageSize * Policy.ImageSize;
        var images = new List<float[]>(indices.Count);
        foreach (int i in indices)
        {
            var example = _examples[i];
            if (example.Pixels is float[] pixels)
            {
                if (pixels.Length != expected)
                {
                    throw new InvalidDataException($"Training example {i} ({SampleSource.Describe(example.Sample)}): its pixel vector has {pixels.Length} values; the policy needs 3·{Policy.ImageSize}·{Policy.ImageSize} = {expected}.");
                }

                images.Add(pixels);
            }
            else
            {
                images.Add(_images.Load(example.Sample.ImagePath));
            }
        }

        return _images.Batch(images, Policy.Device);
    }

    // ---- tensors of a generation batch ----

    private void PrepareTensors(RolloutBuffer buffer)
    {
        var clock = Stopwatch.StartNew();
        var rewards = buffer.Groups.SelectMany(g => g.Rewards).ToArray();
        var sizes = buffer.Groups.Select(g => g.Size).ToArray();
        buffer.Advantages = GrpoAdvantages.Compute(rewards, sizes, _options.ScaleRewards);
        int perMicro = (int)Math.Ceiling((double)buffer.Groups.Count / _options.GradientAccumulationSteps);
        int row = 0;
        for (int start = 0; start < buffer.Groups.Count; start += perMicro)
        {
            var groups = buffer.Groups.Skip(start).Take(perMicro).ToList();
            int rows = groups.Sum(g => g.Size);
            using var scope = NewDisposeScope();
            var expanded = new List<int>();
            foreach (var group in groups)
            {
                expanded.AddRange(Enumerable.Repeat(group.ExampleIndex, group.Size));
            }

            var micro = new MicroBatch
            {
                Pixels = Pixels(expanded),
                Prompts = Policy.EncodePrompts(groups.SelectMany(g => g.Prompts).ToList()),
                Completions = TokenBatch.RightPadded(groups.SelectMany(g => g.Tokens.Select(t => (IReadOnlyList<int>)t)).ToList(), Policy.PadId, Policy.Device),
                Advantages = tensor(buffer.Advantages.Skip(row).Take(rows).ToArray(), device: Policy.Device),
                Truncated = tensor(groups.SelectMany(g => g.Truncated).Select(t => t ? 1f : 0f).ToArray(), device: Policy.Device),
            };
            var mask = micro.Completions.Mask.to_type(ScalarType.Float32);
            if (_options.MaskTruncatedCompletions)
            {
                mask = mask * (1 - micro.Truncated).unsqueeze(1);
            }

            micro.LossMask = mask;
            using (no_grad())
            {
                if (_options.NumIterations > 1)
                {
                    micro.OldLogProbs = Policy.CompletionLogProbs(micro.Pixels, micro.Prompts, micro.Completions, _options.Temperature);
                }

                if (_reference is not null)
                {
                    micro.ReferenceLogProbs = _reference.CompletionLogProbs(micro.Pixels, micro.Prompts, micro.Completions, _options.Temperature);
                }
            }

            micro.DetachAll();
            buffer.MicroBatches.Add(micro);
            row += rows;
        }

        buffer.TokenCount = buffer.MicroBatches.Sum(m => (long)m.LossMask!.sum().item<float>());
        buffer.ReferenceSeconds = clock.Elapsed.TotalSeconds;
    }

    // ---- the update ----

    private bool Optimise(RolloutBuffer buffer, Action<string, double> add)
    {
        var clock = Stopwatch.StartNew();
        Policy.SetTraining(true);
        _optimizer.zero_grad();
        int zeroGroups = buffer.Groups.Count(g => g.ZeroStd);
        double alpha = _options.Gpg ? GrpoObjective.GpgAlpha(buffer.Groups.Count, zeroGroups) : 1.0;
        var context = new GrpoLossContext(buffer.TokenCount, _options.MaxNewTokens, buffer.MicroBatches.Count);
        double tokens = 0, klSum = 0, lowSum = 0, highSum = 0, entropySum = 0, lossSum = 0;
        bool finite = true;
        foreach (var micro in buffer.MicroBatches)
        {
            using var scope = NewDisposeScope();
            var logits = Policy.CompletionLogits(micro.Pixels!, micro.Prompts!, micro.Completions!);
            if (_options.Temperature != 1.0)
            {
                logits = logits / _options.Temperature;
            }

            var all = logits.log_softmax(-1);
            var logProbs = all.gather(2, micro.Completions!.Ids.unsqueeze(2)).squeeze(2);
            var mask = micro.LossMask!;
            var old = micro.OldLogProbs ?? logProbs.detach();
            var terms = GrpoObjective.Compute(logProbs, old, micro.ReferenceLogProbs, micro.Advantages!, _options.EpsilonLow, _options.EpsilonHigh, _options.Beta, _options.Gpg);
            var loss = _loss.Reduce(terms.Loss, mask, context);
            if (alpha != 1.0)
            {
                loss = loss * alpha;
            }

            double lossValue = loss.item<float>();
            if (!double.IsFinite(lossValue))
            {
                finite = false;
                break;
            }

            loss.backward();
            lossSum += lossValue;
            double count = mask.sum().item<float>();
            tokens += count;
            using (no_grad())
            {
                var entropy = -(all.exp() * all).sum(-1);
                entropySum += (entropy * mask).sum().item<float>();
                if (terms.Kl is not null)
                {
                    klSum += (terms.Kl * mask).sum().item<float>();
                }

                lowSum += (terms.LowClipped * mask).sum().item<float>();
                highSum += (terms.HighClipped * mask).sum().item<float>();
            }
        }

        double gradNorm = double.NaN;
        if (finite)
        {
            var parameters = _languageParameters.Concat(_visionParameters).ToList();
            gradNorm = nn.utils.clip_grad_norm_(parameters, _options.MaxGradientNorm > 0 ? _options.MaxGradientNorm : double.MaxValue);
            finite = double.IsFinite(gradNorm);
            if (finite)
            {
                _optimizer.step();
            }
        }

        Policy.SetTraining(false);
        double n = Math.Max(tokens, 1);
        add("loss", finite ? lossSum : double.NaN);
        if (_reference is not null)
        {
            add("kl", klSum / n);
        }

        if (!_options.Gpg)
        {
            add("clip_ratio/low_mean", lowSum / n);
            add("clip_ratio/high_mean", highSum / n);
            add("clip_ratio/region_mean", (lowSum + highSum) / n);
        }
        else
        {
            add("gpg/alpha", alpha);
        }

        add("entropy", entropySum / n);
        add("grad_norm", gradNorm);
        add("time/backward", clock.Elapsed.TotalSeconds);
        return finite;
    }

    private void AddRolloutMetrics(RolloutBuffer buffer, Action<string, double> add)
    {
        var groups = buffer.Groups;
        var rewards = groups.SelectMany(g => g.Rewards).ToArray();
        add("reward", rewards.Average(r => (double)r));
        add("reward_std", groups.Average(g => GrpoAdvantages.Std(g.Rewards, 0, g.Size)));
        foreach (var (function, _) in _options.Rewards.Terms)
        {
            var values = groups.SelectMany(g => g.PerFunction[function.Name]).Where(v => v.HasValue).Select(v => (double)v!.Value).ToArray();
            double mean = values.Length == 0 ? double.NaN : values.Average();
            add($"rewards/{function.Name}/mean", mean);
            add($"rewards/{function.Name}/std", values.Length == 0 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length));
        }

        add("frac_reward_zero_std", groups.Average(g => g.ZeroStd ? 1.0 : 0.0));
        if (groups.All(g => _examples[g.ExampleIndex].OptionSimilarity is float s && float.IsFinite(s)))
        {
            add("curriculum/mean_s_q", groups.Average(g => (double)_examples[g.ExampleIndex].OptionSimilarity!.Value));
        }

        foreach (var byClass in groups.GroupBy(g => _examples[g.ExampleIndex].ClassLabel).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            add($"frac_reward_zero_std/{byClass.Key}", byClass.Average(g => g.ZeroStd ? 1.0 : 0.0));
        }

        if (_options.Gdqa is not null)
        {
            var spread = groups.Where(g => g.Spread).ToList();
            add("gdqa/augmented_fraction", spread.Count / (double)groups.Count);
            add("gdqa/forms_per_augmented_group", spread.Count == 0 ? 0 : spread.Average(g => (double)g.Forms.Distinct().Count()));
            add("gdqa/frac_reward_zero_std_augmented", spread.Count == 0 ? double.NaN : spread.Average(g => g.ZeroStd ? 1.0 : 0.0));
        }

        if (_options.DynamicSampling)
        {
            add("dynamic_sampling/frac_reward_zero_std_before", buffer.ZeroStdBefore.Average(z => z ? 1.0 : 0.0));
            add("dynamic_sampling/resampled_groups", buffer.Resampled);
        }

        var lengths = groups.SelectMany(g => g.Tokens.Select(t => t.Length)).ToArray();
        add("completions/mean_length", lengths.Average());
        add("completions/min_length", lengths.Min());
        add("completions/max_length", lengths.Max());
        add("completions/clipped_ratio", groups.SelectMany(g => g.Truncated).Average(t => t ? 1.0 : 0.0));
        bool fresh = buffer.Uses == 0;
        add("time/generation", fresh ? buffer.GenerationSeconds : 0);
        add("time/reward", fresh ? buffer.RewardSeconds : 0);
        add("time/reference_logprobs", fresh ? buffer.ReferenceSeconds : 0);
        add("tokens_per_second", fresh && buffer.GenerationSeconds > 0 ? lengths.Sum() / buffer.GenerationSeconds : double.NaN);
    }

    private sealed class MicroBatch : IDisposable
    {
        public Tensor? Pixels { get; set; }

        public TokenBatch? Prompts { get; set; }

        public TokenBatch? Completions { get; set; }

        public Tensor? Advantages { get; set; }

        public Tensor? Truncated { get; set; }

        public Tensor? LossMask { get; set; }

        public Tensor? OldLogProbs { get; set; }

        public Tensor? ReferenceLogProbs { get; set; }

        private IEnumerable<Tensor?> All() => new[] { Pixels, Prompts?.Ids, Prompts?.Mask, Completions?.Ids, Completions?.Mask, Advantages, Truncated, LossMask, OldLogProbs, ReferenceLogProbs };

        public void DetachAll()
        {
            foreach (var t in All())
            {
                t?.DetachFromDisposeScope();
            }
        }

        public void Dispose()
        {
            foreach (var t in All())
            {
                t?.Dispose();
            }
        }
    }

    private sealed class RolloutBuffer : IDisposable
    {
        public RolloutBuffer(List<GroupRollout> groups, bool[] zeroStdBefore, int resampled, double generationSeconds, double rewardSeconds)
        {
            Groups = groups;
            ZeroStdBefore = zeroStdBefore;
            Resampled = resampled;
            GenerationSeconds = generationSeconds;
            RewardSeconds = rewardSeconds;
        }

        public List<GroupRollout> Groups { get; }

        public bool[] ZeroStdBefore { get; }

        public int Resampled { get; }

        public double GenerationSeconds { get; }

        public double RewardSeconds { get; }

        public double ReferenceSeconds { get; set; }

        public float[] Advantages { get; set; } = Array.Empty<float>();

        public List<MicroBatch> MicroBatches { get; } = new();

        public long TokenCount { get; set; }

        public int Uses { get; set; }

        public bool Finite => Groups.All(g => g.Finite);

        public void Dispose()
        {
            foreach (var m in MicroBatches)
            {
                m.Dispose();
            }

            MicroBatches.Clear();
        }
    }
}
