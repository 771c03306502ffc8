using AnatomyR1.Curriculum;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;

using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Policy;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Options of GRPO training (<see cref="GrpoSession"/>). Names follow the project's design guide and, where they exist
/// there, TRL's <c>GRPOConfig</c>. Every field has a documented default; <see cref="Validate"/> rejects out-of-range
/// values with a message naming the option.
/// </summary>
public sealed class GrpoOptions
{
    /// <summary>Optimiser steps (after the <see cref="NumIterations"/> inner updates are counted). Default 200.</summary>
    public int Steps { get; set; } = 200;

    /// <summary>Prompts drawn per generation batch (B). Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>Completions sampled per prompt (G, at least 2). Default 8.</summary>
    public int NumGenerations { get; set; } = 8;

    /// <summary>
    /// How completions are sampled: <see cref="GenerationOptions.MaxNewTokens"/> (default 64, the end token included),
    /// <see cref="GenerationOptions.Temperature"/> (default 1; also applied to the log-probabilities in the loss; must be
    /// positive), <see cref="GenerationOptions.TopK"/> (default 0, off), <see cref="GenerationOptions.TopP"/> (default 1,
    /// off) and <see cref="GenerationOptions.SharePrefix"/> (default true: one image encoding and prompt prefill per
    /// group). G is <see cref="NumGenerations"/> and the sampling seed derives from <see cref="Seed"/>, so
    /// <see cref="GenerationOptions.NumReturnSequences"/> must stay 1 and <see cref="GenerationOptions.Seed"/> null.
    /// </summary>
    public GenerationOptions Generation { get; set; } = new();

    /// <summary>AdamW learning rate of the language model. Default 1e-4.</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>AdamW learning rate of the image encoder (ignored when it is frozen). Default 1e-4.</summary>
    public double VisionLearningRate { get; set; } = 1e-4;

    /// <summary>AdamW weight decay. Default 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Linear learning-rate warm-up steps, then constant. Default 10.</summary>
    public int WarmupSteps { get; set; } = 10;

    /// <summary>Gradient norm clip; 0 disables. Default 1.</summary>
    public double MaxGradientNorm { get; set; } = 1.0;

    /// <summary>Weight β of the k3 KL penalty to the frozen reference; 0 loads no reference. Default 0.04.</summary>
    public double Beta { get; set; } = 0.04;

    /// <summary>Lower clip range ε_low of the ratio (ratio ≥ 1 − ε_low). Default 0.2.</summary>
    public double EpsilonLow { get; set; } = 0.2;

    /// <summary>Upper clip range ε_high of the ratio (ratio ≤ 1 + ε_high; DAPO uses 0.28). Default 0.2.</summary>
    public double EpsilonHigh { get; set; } = 0.2;

    /// <summary>Advantage scaling. Default <see cref="Grpo.ScaleRewards.Group"/>.</summary>
    public ScaleRewards ScaleRewards { get; set; } = ScaleRewards.Group;

    /// <summary>Loss normalisation. Default <see cref="GrpoLossType.Grpo"/>. Ignored when <see cref="Loss"/> is set.</summary>
    public GrpoLossType LossType { get; set; } = GrpoLossType.Grpo;

    /// <summary>A loss normalisation of your own (a <see cref="Losses.GrpoLoss"/> subclass); null (default) uses the built-in one of <see cref="LossType"/>.</summary>
    public Losses.GrpoLoss? Loss { get; set; }

    /// <summary>
    /// μ: optimiser updates per generation batch. With μ &gt; 1 the log-probabilities of the sampling policy are
    /// stored once and the ratio is taken against them. Default 1.
    /// </summary>
    public int NumIterations { get; set; } = 1;

    /// <summary>Micro-batches per optimiser update (whole groups each), to bound memory. Default 1.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Replace groups whose rewards are all equal by freshly drawn prompts (DAPO's dynamic sampling). Default false.</summary>
    public bool DynamicSampling { get; set; }

    /// <summary>Most resampling rounds per step under <see cref="DynamicSampling"/>. Default 3.</summary>
    public int MaxResamples { get; set; } = 3;

    /// <summary>
    /// GPG variant: loss −logπθ·A (no ratio, no clipping) multiplied by α = B / (B − M), M = zero-variance groups.
    /// Default false.
    /// </summary>
    public bool Gpg { get; set; }

    /// <summary>Leave completions that hit <see cref="GenerationOptions.MaxNewTokens"/> without an end token out of the loss. Default false.</summary>
    public bool MaskTruncatedCompletions { get; set; }

    /// <summary>Keep the image encoder's weights fixed. Default false.</summary>
    public bool FreezeVisionEncoder { get; set; }

    /// <summary>Reward functions and weights. Default accuracy ×1 + format ×1.</summary>
    public WeightedRewards Rewards { get; set; } = WeightedRewards.Default(AnswerExtractionStrategy.TagLetter);

    /// <summary>Seed of prompt sampling, rollouts and everything else random. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Write a checkpoint every this many steps into the run folder; 0 disables. Default 0.</summary>
    public int CheckpointEvery { get; set; }

    /// <summary>Checkpoints kept (oldest deleted first); 0 keeps all. Default 2.</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>Stop with an error after this many steps in a row with non-finite rewards, loss or gradients. Default 3.</summary>
    public int MaxConsecutiveNonFiniteSteps { get; set; } = 3;

    /// <summary>
    /// Memory bound: B · G · <see cref="GenerationOptions.MaxNewTokens"/> (the completion tokens of one generation batch) may not exceed
    /// this. Default 65,536.
    /// </summary>
    public int MaxRolloutTokens { get; set; } = 65_536;

    /// <summary>
    /// ASCL: draw prompts through the anatomical-similarity curriculum (easiest S(q) first, pool growing to the full
    /// data by step T) instead of uniformly. Needs every example's S(q) (<see cref="GrpoExample.OptionSimilarity"/>,
    /// from the <c>AnatomicalSimilarity</c> transform). Default null: uniform order.
    /// </summary>
    public CurriculumOptions? Curriculum { get; set; }

    /// <summary>
    /// GDQA: spread the G completions of prompts that have question variants (<see cref="GrpoExample.Variants"/>) over
    /// those variants, statically or adaptively. Default null: every completion answers the original question.
    /// </summary>
    public GdqaTrainingOptions? Gdqa { get; set; }

    /// <summary>
    /// LoRA: train low-rank adapters on the policy's <c>Linear</c> modules instead of all its weights (rank, alpha,
    /// dropout and target patterns in <see cref="LoraOptions"/>; default targets the language model's attention and MLP
    /// projections, the vision tower stays frozen). Only the adapters are trainable and in the optimizer (one learning
    /// rate, <see cref="LearningRate"/>); the reference model of the KL penalty is the policy with its adapters switched
    /// off, so no second copy of the weights is made. Checkpoints hold the adapters in PEFT's layout. The policy must
    /// expose <see cref="IVisionLanguagePolicy.AdapterModel"/>. Default null: full fine-tuning.
    /// </summary>
    public LoraOptions? Lora { get; set; }

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of storing them (activation
    /// checkpointing; see <see cref="IVisionLanguagePolicy.GradientCheckpointing"/>): less memory for one more forward
    /// pass per layer, the same gradients. Default false.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// What to do with an example whose image cannot be used (missing, undecodable, truncated, over the pixel cap). Every
    /// image is checked through the policy's image processor when the session is created, before step 1, so no run can
    /// fail later on an image. False (default): stop with an error naming the example and the image. True: leave such
    /// examples out and report each (<see cref="GrpoSession.SkippedExamples"/> and the log).
    /// </summary>
    public bool SkipInvalidImages { get; set; }

    /// <summary>
    /// libtorch intra-op threads for the reference and update passes; 0 (default) keeps the process setting. Rollouts
    /// use <see cref="GenerationOptions.IntraOpThreads"/> of <see cref="Generation"/>, so the two phases can run on
    /// different thread counts.
    /// </summary>
    public int UpdateThreads { get; set; }

    /// <summary>
    /// The processes of a data-parallel run (<see cref="Distributed.IProcessGroup"/>). Null (default): the job this
    /// process was started in (<see cref="Distributed.ProcessGroups.FromEnvironment"/>: Open MPI under <c>mpirun</c>,
    /// otherwise one process). Every process of the job runs the same session with the same options and data; each rolls
    /// out its shards of the same seeded prompt draw, gradients and batch statistics are summed over the processes, and
    /// every process applies the same optimiser step. Not a recorded setting: a run may resume on another number of
    /// processes as long as <see cref="Shards"/> stays the same.
    /// </summary>
    public Distributed.IProcessGroup? ProcessGroup { get; set; }

    /// <summary>
    /// Slices the global batch of <see cref="BatchSize"/> prompts is cut into; each slice (shard) samples with its own
    /// seed, keeps its own GDQA view within a step, resamples its own zero-variance groups and forms its own
    /// <see cref="GradientAccumulationSteps"/> micro-batches, and the step's gradient is the sum of the shards' parts.
    /// The processes share the shards equally, so what a run computes depends on the number of shards, not on where they
    /// run: one process with <c>Shards = N</c> reproduces <c>mpirun -np N</c>. 0 (default): one shard per process (1
    /// without MPI). Must divide <see cref="BatchSize"/> and be a multiple of the number of processes.
    /// </summary>
    public int Shards { get; set; }

    /// <summary>
    /// With more than one process: every this many steps (and before the first) the processes compare checksums of their
    /// weights and stop with an error naming each process's checksum if they differ. 0 never checks. Default 10.
    /// </summary>
    public int WeightCheckEvery { get; set; } = 10;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException($"GRPO option {name} = {value} is invalid: {rule}.", name);
            }
        }

        Check(Steps >= 1, nameof(Steps), Steps, "at least 1 step");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "at least 1 prompt per batch");
        Check(NumGenerations >= 2, nameof(NumGenerations), NumGenerations, "G must be at least 2, otherwise every group has zero reward variance");
        Check(Generation is not null, nameof(Generation), "null", "sampling settings are required");
        Check(Generation!.MaxNewTokens >= 1, "Generation.MaxNewTokens", Generation.MaxNewTokens, "at least 1");
        Check(double.IsFinite(Generation.Temperature) && Generation.Temperature > 0, "Generation.Temperature", Generation.Temperature, "must be positive (GRPO samples)");
        Check(Generation.TopK >= 0, "Generation.TopK", Generation.TopK, "0 (off) or positive");
        Check(Generation.TopP is > 0 and <= 1, "Generation.TopP", Generation.TopP, "in (0, 1]");
        Check(Generation.NumReturnSequences == 1, "Generation.NumReturnSequences", Generation.NumReturnSequences, "must stay 1: set NumGenerations (G) instead");
        Check(Generation.Seed is null, "Generation.Seed", Generation.Seed!, "must stay null: sampling seeds derive from Seed, step and attempt");
        Check(Generation.IntraOpThreads >= 0, "Generation.IntraOpThreads", Generation.IntraOpThreads, "0 (automatic) or positive");
        Check(Generation.EndCheckInterval >= 0, "Generation.EndCheckInterval", Generation.EndCheckInterval, "0 (automatic) or positive");
        Check(UpdateThreads >= 0, nameof(UpdateThreads), UpdateThreads, "0 (process setting) or positive");
        Check(Shards >= 0, nameof(Shards), Shards, "0 (one per process) or positive");
        Check(Shards == 0 || BatchSize % Shards == 0, nameof(Shards), Shards, $"must divide the batch size ({BatchSize})");
        Check(Shards == 0 || GradientAccumulationSteps <= BatchSize / Shards, nameof(GradientAccumulationSteps), GradientAccumulationSteps,
            $"at most the prompts per shard ({BatchSize} / {Shards})");
        Check(WeightCheckEvery >= 0, nameof(WeightCheckEvery), WeightCheckEvery, "0 (never) or positive");
        Check(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be positive");
        Check(double.IsFinite(VisionLearningRate) && VisionLearningRate > 0, nameof(VisionLearningRate), VisionLearningRate, "must be positive");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be non-negative");
        Check(WarmupSteps >= 0, nameof(WarmupSteps), WarmupSteps, "must be non-negative");
        Check(MaxGradientNorm >= 0, nameof(MaxGradientNorm), MaxGradientNorm, "0 (off) or positive");
        Check(double.IsFinite(Beta) && Beta >= 0, nameof(Beta), Beta, "must be non-negative");
        Check(EpsilonLow is > 0 and < 1, nameof(EpsilonLow), EpsilonLow, "ε must be in (0, 1)");
        Check(double.IsFinite(EpsilonHigh) && EpsilonHigh > 0, nameof(EpsilonHigh), EpsilonHigh, "ε must be positive");
        Check(NumIterations >= 1, nameof(NumIterations), NumIterations, "μ must be at least 1");
        Check(GradientAccumulationSteps >= 1 && GradientAccumulationSteps <= BatchSize, nameof(GradientAccumulationSteps), GradientAccumulationSteps,
            $"between 1 and the batch size ({BatchSize})");
        Check(MaxResamples >= 0, nameof(MaxResamples), MaxResamples, "must be non-negative");
        Check(CheckpointEvery >= 0, nameof(CheckpointEvery), CheckpointEvery, "0 (off) or positive");
        Check(KeepCheckpoints >= 0, nameof(KeepCheckpoints), KeepCheckpoints, "0 (all) or positive");
        Check(MaxConsecutiveNonFiniteSteps >= 1, nameof(MaxConsecutiveNonFiniteSteps), MaxConsecutiveNonFiniteSteps, "at least 1");
        Check(Rewards is not null && Rewards.Terms.Count > 0, nameof(Rewards), Rewards?.Terms.Count ?? 0, "at least one reward function");
        Curriculum?.Validate();
        Gdqa?.Validate();
        if (Lora is not null)
        {
            try
            {
                Lora.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"GRPO option Lora is invalid: {ex.Message}", nameof(Lora), ex);
            }
        }
        if (Loss is null && LossType == GrpoLossType.Custom)
        {
            throw new ArgumentException("LossType = Custom needs GrpoOptions.Loss (an instance of a GrpoLoss subclass).", nameof(LossType));
        }

        long rollout = (long)BatchSize * NumGenerations * Generation.MaxNewTokens;
        Check(rollout <= MaxRolloutTokens, "BatchSize", BatchSize,
            $"B·G·MaxNewTokens = {BatchSize}·{NumGenerations}·{Generation.MaxNewTokens} = {rollout} exceeds MaxRolloutTokens = {MaxRolloutTokens}; lower one of them or raise the bound");
    }

    /// <summary>A copy (the reward set is shared; the curriculum options are copied).</summary>
    /// <returns>The copy.</returns>
    public GrpoOptions Clone()
    {
        var copy = (GrpoOptions)MemberwiseClone();
        copy.Curriculum = Curriculum?.Clone();
        copy.Gdqa = Gdqa?.Clone();
        return copy;
    }
}
