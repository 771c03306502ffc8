using System.Diagnostics;
using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo.Losses;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = global::TorchSharp.Modules.Parameter;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The GRPO policy update: AdamW over the language (and, unless frozen, vision) parameters with their own learning
/// rates, the frozen reference policy, preparing a generation batch's tensors (advantages, masks, old and reference
/// log-probabilities per micro-batch), and one optimiser step over the micro-batches (clipped objective, k3 KL, the
/// loss type's normalisation, GPG scaling, gradient clipping, non-finite detection).
/// </summary>
internal sealed class PolicyUpdater : IDisposable
{
    private readonly IVisionLanguagePolicy _policy;
    private readonly GrpoOptions _options;
    private readonly GrpoLoss _loss;
    private readonly global::TorchSharp.Modules.AdamW _optimizer;
    private readonly List<Parameter> _languageParameters;
    private readonly List<Parameter> _visionParameters;
    private readonly List<Parameter> _frozen = new();
    private readonly LoraAdapters? _adapters;
    private bool _adaptersChecked;

    /// <summary>Creates the update for a policy.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The options.</param>
    /// <param name="reference">A loaded reference (resume), or null to copy the policy when β &gt; 0.</param>
    /// <param name="adapters">
    /// LoRA adapters attached to the policy: then only they are optimised and the reference is the policy with them
    /// switched off (no copy).
    /// </param>
    public PolicyUpdater(IVisionLanguagePolicy policy, GrpoOptions options, IVisionLanguagePolicy? reference, LoraAdapters? adapters = null)
    {
        _policy = policy;
        _options = options;
        _loss = options.Loss ?? GrpoLoss.For(options.LossType);
        _adapters = adapters;
        if (adapters is not null)
        {
            // LoRA: the adapters are the only trainable weights (one learning rate); the base is already frozen.
            _languageParameters = adapters.Parameters().ToList();
            _visionParameters = new List<Parameter>();
        }
        else
        {
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
        Reference = adapters is not null ? null : reference ?? (options.Beta > 0 ? policy.CreateFrozenCopy() : null);
    }

    /// <summary>The frozen reference policy (null when β = 0, and with LoRA, whose reference is the policy without its adapters).</summary>
    public IVisionLanguagePolicy? Reference { get; }

    /// <summary>Whether the KL penalty has a reference (a copy, or the policy with its adapters off).</summary>
    public bool HasReference => Reference is not null || (_adapters is not null && _options.Beta > 0);

    /// <summary>The parameters the optimizer updates.</summary>
    public IReadOnlyList<Parameter> OptimisedParameters => _languageParameters.Concat(_visionParameters).ToList();

    /// <summary>Sets the warm-up-scaled learning rates of <paramref name="step"/>; returns the language model's.</summary>
    public double SetLearningRates(int step)
    {
        double scale = _options.WarmupSteps == 0 ? 1.0 : Math.Min(1.0, (double)step / _options.WarmupSteps);
        var groups = _optimizer.ParamGroups.ToList();
        groups[0].LearningRate = _options.LearningRate * scale;
        if (groups.Count > 1)
        {
            groups[1].LearningRate = _options.VisionLearningRate * scale;
        }

        return _options.LearningRate * scale;
    }

    public void ZeroGrad() => _optimizer.zero_grad();

    public void SaveOptimizer(string path) => _optimizer.save_state_dict(path);

    public void LoadOptimizer(string path) => _optimizer.load_state_dict(path);

    /// <summary>
    /// Advantages (from the whole step's rewards, so batch scaling sees every shard) and the per-micro-batch tensors
    /// of this process's finite shards (old and reference log-probs without gradient), then the step's token counts
    /// summed over the shards and processes.
    /// </summary>
    public void Prepare(IReadOnlyList<RolloutBatch> shards, BatchView view, ShardLayout layout, RolloutCollector collector)
    {
        var clock = Stopwatch.StartNew();
        var rewards = view.Groups.SelectMany(g => g.Rewards).ToArray();
        var sizes = view.Groups.Select(g => g.Size).ToArray();
        var advantages = GrpoAdvantages.Compute(rewards, sizes, _options.ScaleRewards);
        int rowsPerShard = layout.PerShard * _options.NumGenerations;
        foreach (var batch in shards)
        {
            batch.Advantages = advantages.Skip(batch.Shard * rowsPerShard).Take(batch.Groups.Sum(g => g.Size)).ToArray();
            PrepareShard(batch, collector);
        }

        int micro = shards.Max(b => b.MicroBatches.Count);
        var counts = new long[micro + 1];
        foreach (var batch in shards)
        {
            for (int m = 0; m < batch.MicroBatches.Count; m++)
            {
                counts[m] += (long)batch.MicroBatches[m].LossMask!.sum().item<float>();
            }
        }

        counts[micro] = counts.Take(micro).Sum();
        layout.Group.AllReduce(counts, ReduceOp.Sum);
        Span<double> seconds = stackalloc double[] { clock.Elapsed.TotalSeconds };
        layout.Group.AllReduce(seconds, ReduceOp.Max);
        foreach (var batch in shards)
        {
            batch.TokenCount = counts[micro];
            batch.MicroBatchTokens = counts.Take(micro).ToArray();
            batch.ReferenceSeconds = seconds[0] / shards.Count;
        }

        view.ReferenceSeconds = seconds[0];
    }

    private void PrepareShard(RolloutBatch batch, RolloutCollector collector)
    {
        int perMicro = (int)Math.Ceiling((double)batch.Groups.Count / _options.GradientAccumulationSteps);
        int row = 0;
        for (int start = 0; start < batch.Groups.Count; start += perMicro)
        {
            var groups = batch.Groups.Skip(start).Take(perMicro).ToList();
            int rows = groups.Sum(g => g.Size);
            using var scope = NewDisposeScope();
            var micro = new MicroBatch
            {
                Images = collector.Images(groups.SelectMany(g => Enumerable.Repeat(g.ExampleIndex, g.Size)).ToList()),
                Prompts = _policy.EncodePrompts(groups.SelectMany(g => g.Prompts).ToList()),
                Completions = TokenBatch.RightPadded(groups.SelectMany(g => g.Tokens.Select(t => (IReadOnlyList<int>)t)).ToList(), _policy.PadId, _policy.Device),
                Advantages = tensor(batch.Advantages.Skip(row).Take(rows).ToArray(), device: _policy.Device),
                Truncated = tensor(groups.SelectMany(g => g.Truncated).Select(t => t ? 1f : 0f).ToArray(), device: _policy.Device),
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
                    micro.OldLogProbs = _policy.CompletionLogProbs(micro.Images, micro.Prompts, micro.Completions, _options.Generation.Temperature);
                }

                if (Reference is not null)
                {
                    micro.ReferenceLogProbs = Reference.CompletionLogProbs(micro.Images, micro.Prompts, micro.Completions, _options.Generation.Temperature);
                }
                else if (HasReference)
                {
                    using (_adapters!.Disable())
                    {
                        micro.ReferenceLogProbs = _policy.CompletionLogProbs(micro.Images, micro.Prompts, micro.Completions, _options.Generation.Temperature);
                    }
                }
            }

            micro.DetachAll();
            batch.MicroBatches.Add(micro);
            row += rows;
        }

    }

    /// <summary>
    /// One optimiser step over the micro-batches of this process's shards; false (and no step, on every process) when
    /// the loss or the gradient is not finite anywhere. With several processes the gradients are summed over them
    /// before clipping, so every process clips the same gradient and applies the same AdamW step.
    /// </summary>
    public bool Optimise(IReadOnlyList<RolloutBatch> shards, BatchView view, ShardLayout layout, int step, Action<string, double> add)
    {
        var clock = Stopwatch.StartNew();
        _policy.SetTraining(true);
        _optimizer.zero_grad();
        int zeroGroups = view.Groups.Count(g => g.ZeroStd);
        double alpha = _options.Gpg ? GrpoObjective.GpgAlpha(view.Groups.Count, zeroGroups) : 1.0;
        // [loss, tokens, kl, low, high, entropy]
        var sums = new double[6];
        bool finite = true;
        foreach (var batch in shards)
        {
            if (_adapters is { Options.Dropout: > 0 })
            {
                // The adapters' dropout draws from the global generator: seed it from (seed, step, shard) so that a resumed
                // run, or the same shard on another process, draws the same masks.
                long shardSeed = batch.Shard == 0 ? 0 : SeedMixer.Mix(_options.Seed, step, batch.Shard);
                Runtime.TorchRuntime.Seed(unchecked(((long)_options.Seed * 1_000_003L) + step + (shardSeed * 7_919L)));
            }

            for (int m = 0; m < batch.MicroBatches.Count && finite; m++)
            {
                var context = new GrpoLossContext(batch.TokenCount, _options.Generation.MaxNewTokens, batch.MicroBatches.Count)
                {
                    Shards = layout.Count,
                    MicroBatchTokens = batch.MicroBatchTokens[m],
                };
                finite = Backward(batch.MicroBatches[m], context, alpha, sums);
            }
        }

        finite = layout.Group.AllProcesses(finite);
        double gradNorm = double.NaN;
        double allreduceSeconds = 0;
        if (finite)
        {
            var parameters = _languageParameters.Concat(_visionParameters).ToList();
            if (layout.Distributed)
            {
                var reduce = Stopwatch.StartNew();
                SumGradients(parameters, layout.Group);
                allreduceSeconds = reduce.Elapsed.TotalSeconds;
            }

            gradNorm = nn.utils.clip_grad_norm_(parameters, _options.MaxGradientNorm > 0 ? _options.MaxGradientNorm : double.MaxValue);
            finite = double.IsFinite(gradNorm);
            if (finite)
            {
                _optimizer.step();
            }
        }

        _policy.SetTraining(false);
        layout.Group.AllReduce(sums, ReduceOp.Sum);
        double lossSum = sums[0], tokens = sums[1], klSum = sums[2], lowSum = sums[3], highSum = sums[4], entropySum = sums[5];
        double n = Math.Max(tokens, 1);
        add("loss", finite ? lossSum : double.NaN);
        if (HasReference)
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
        Span<double> seconds = stackalloc double[] { clock.Elapsed.TotalSeconds, allreduceSeconds };
        layout.Group.AllReduce(seconds, ReduceOp.Max);
        add("time/backward", seconds[0]);
        if (layout.Distributed)
        {
            add("time/allreduce", seconds[1]);
        }
        return finite;
    }

    /// <summary>The loss of one micro-batch and its backward pass; adds [loss, tokens, kl, low, high, entropy] to <paramref name="sums"/>.</summary>
    private bool Backward(MicroBatch micro, GrpoLossContext context, double alpha, double[] sums)
    {
        using var scope = NewDisposeScope();
        var (logProbs, entropy) = _policy.CompletionLogProbsAndEntropy(micro.Images!, micro.Prompts!, micro.Completions!, _options.Generation.Temperature);
        if (_adapters is not null && !_adaptersChecked)
        {
            // Fails loudly when the policy calls its Linear modules in a way that skips the adapters' hooks.
            _adapters.EnsureApplied();
            _adaptersChecked = true;
        }

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
            return false;
        }

        loss.backward();
        sums[0] += lossValue;
        sums[1] += mask.sum().item<float>();
        using (no_grad())
        {
            sums[5] += (entropy * mask).sum().item<float>();
            if (terms.Kl is not null)
            {
                sums[2] += (terms.Kl * mask).sum().item<float>();
            }

            sums[3] += (terms.LowClipped * mask).sum().item<float>();
            sums[4] += (terms.HighClipped * mask).sum().item<float>();
        }

        return true;
    }

    /// <summary>
    /// Sums the parameters' gradients over the processes, in one flat buffer. A parameter that has a gradient on some
    /// process but not here (not reached by this process's loss) contributes zeros and receives the sum; a parameter that
    /// no process reached keeps no gradient, as in one process, so AdamW skips it everywhere.
    /// </summary>
    private static void SumGradients(IReadOnlyList<Parameter> parameters, IProcessGroup group)
    {
        using var scope = NewDisposeScope();
        var reached = parameters.Select(p => p.grad is null ? 0L : 1L).ToArray();
        group.AllReduce(reached, ReduceOp.Max);
        var missing = parameters.Where((p, i) => reached[i] != 0 && p.grad is null).ToList();
        if (missing.Count > 0)
        {
            // Zero gradients through autograd (TorchSharp has no gradient setter).
            missing.Select(p => p.sum() * 0).Aggregate((x, y) => x + y).backward();
        }

        var grads = parameters.Where((p, i) => reached[i] != 0).Select(p => p.grad!).ToList();
        if (grads.Count == 0)
        {
            return;
        }

        var flat = cat(grads.Select(g => g.reshape(-1)).ToList()).to(ScalarType.Float32);
        group.AllReduce(flat, ReduceOp.Sum);
        using (no_grad())
        {
            long offset = 0;
            foreach (var g in grads)
            {
                long n = g.numel();
                g.copy_(flat.narrow(0, offset, n).view_as(g));
                offset += n;
            }
        }
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        Reference?.Dispose();
        foreach (var p in _frozen)
        {
            p.requires_grad = true;
        }
    }
}
