using System.Diagnostics;
using AnatomyR1.TorchSharp.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training;

/// <summary>One supervised example: the image, the question with its options, and the target completion. The policy
/// writes the prompt in its own format (<see cref="IVisionLanguagePolicy.FormatPrompt"/>).</summary>
/// <param name="ImagePath">The image file; empty for a blank image (text-only examples).</param>
/// <param name="Question">The question.</param>
/// <param name="Options">The options, in order.</param>
/// <param name="Target">The completion to learn (e.g. a reasoning trace ending in the answer).</param>
public sealed record SupervisedExample(string ImagePath, string Question, IReadOnlyList<string> Options, string Target);

/// <summary>Progress of supervised training.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Mean completion-token cross-entropy over the last report interval.</param>
/// <param name="LearningRate">Current language-model learning rate.</param>
/// <param name="TokensPerSecond">Completion tokens trained per second over the interval.</param>
/// <param name="Elapsed">Time since the start.</param>
public sealed record SupervisedProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>
/// Supervised fine-tuning of a policy: AdamW (separate learning rate for the image encoder),
/// linear warm-up then cosine decay, gradient clipping, loss only on completion tokens, one dispose scope per step.
/// </summary>
public static class SupervisedTrainer
{
    /// <summary>Trains in place.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="examples">Training examples.</param>
    /// <param name="options">Options.</param>
    /// <param name="progress">Receives progress every <see cref="SupervisedOptions.ReportEvery"/> steps.</param>
    /// <param name="cancellationToken">Stops after the current step.</param>
    /// <returns>The loss reported at each interval.</returns>
    public static IReadOnlyList<SupervisedProgress> Train(IVisionLanguagePolicy policy, IReadOnlyList<SupervisedExample> examples, SupervisedOptions options,
        IProgress<SupervisedProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (examples.Count == 0)
        {
            throw new ArgumentException("No training examples.", nameof(examples));
        }

        var images = new PreparedImageCache(policy.ImageProcessor);
        var blank = policy.ImageProcessor.Prepare(PolicyImage.FromPixels(new float[3 * 64 * 64], 64, 64, "blank image"));

        // Every image is prepared (and kept, as training would) before step 1, so that no run stops later on an image.
        for (int i = 0; i < examples.Count; i++)
        {
            string path = examples[i].ImagePath;
            if (path.Length == 0)
            {
                continue;
            }

            try
            {
                images.File(path);
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                string question = examples[i].Question.Length > 60 ? examples[i].Question[..60] + "…" : examples[i].Question;
                throw new InvalidDataException($"Supervised example {i} (\"{question}\"): {ex.Message}", ex);
            }
        }

        var visionParameters = policy.VisionEncoderParameters().Where(p => p.requires_grad).ToList();
        var visionSet = new HashSet<IntPtr>(visionParameters.Select(p => p.Handle));
        var languageParameters = policy.TrainableParameters().Where(p => !visionSet.Contains(p.Handle)).ToList();
        var groups = new List<global::TorchSharp.Modules.AdamW.ParamGroup>
        {
            new(languageParameters, lr: options.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay, amsgrad: false, maximize: false),
        };
        if (visionParameters.Count > 0)
        {
            groups.Add(new(visionParameters, lr: options.VisionLearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: options.WeightDecay, amsgrad: false, maximize: false));
        }

        using var optimizer = optim.AdamW(groups, options.LearningRate);
        var random = new Random(options.Seed);
        var history = new List<SupervisedProgress>();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        long tokens = 0;
        var intervalClock = Stopwatch.StartNew();
        policy.SetTraining(true);
        for (int step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double scale = Schedule(step, options);
            var groupList = optimizer.ParamGroups.ToList();
            groupList[0].LearningRate = options.LearningRate * scale;
            if (groupList.Count > 1)
            {
                groupList[1].LearningRate = options.VisionLearningRate * scale;
            }

            using var quiet = Runtime.GcQuietRegion.Enter();
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, options.BatchSize).Select(_ => examples[random.Next(examples.Count)]).ToList();
            int drills = (int)Math.Round(options.DrillFraction * batch.Count);
            for (int d = 0; d < drills; d++)
            {
                var source = batch[d];
                batch[d] = OptionDrill.Make(source.Options, random);
            }

            using var pixels = policy.ImageProcessor.Collate(batch.Select(e => e.ImagePath.Length == 0 ? blank : images.File(e.ImagePath)).ToList(), policy.Device);
            using var prompts = policy.EncodePrompts(batch.Select(e => policy.FormatPrompt(e.Question, e.Options)).ToList());
            using var targets = policy.EncodeCompletions(batch.Select(e => e.Target).ToList());
            var loss = Loss(policy, pixels, prompts, targets);
            optimizer.zero_grad();
            loss.backward();
            if (options.MaxGradientNorm > 0)
            {
                nn.utils.clip_grad_norm_(policy.TrainableParameters(), options.MaxGradientNorm);
            }

            optimizer.step();
            lossSum += loss.item<float>();
            tokens += targets.Mask.sum().item<long>();
            if (step % options.ReportEvery == 0 || step == options.Steps)
            {
                int interval = step % options.ReportEvery == 0 ? options.ReportEvery : step % options.ReportEvery;
                var report = new SupervisedProgress(step, options.Steps, lossSum / interval, options.LearningRate * scale,
                    tokens / Math.Max(intervalClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed);
                history.Add(report);
                progress?.Report(report);
                lossSum = 0;
                tokens = 0;
                intervalClock.Restart();
            }
        }

        policy.SetTraining(false);
        return history;
    }

    /// <summary>Mean cross-entropy of the completion tokens (padding excluded).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="pixels">Images.</param>
    /// <param name="prompts">Prompts.</param>
    /// <param name="targets">Target completions.</param>
    /// <returns>The scalar loss.</returns>
    public static Tensor Loss(IVisionLanguagePolicy policy, ImageBatch pixels, TokenBatch prompts, TokenBatch targets)
    {
        using var scope = NewDisposeScope();
        var logProbs = policy.CompletionLogProbs(pixels, prompts, targets);
        var mask = targets.Mask.to_type(logProbs.dtype);
        return (-(logProbs * mask).sum() / mask.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    private static double Schedule(int step, SupervisedOptions options)
    {
        if (step <= options.WarmupSteps)
        {
            return (double)step / Math.Max(1, options.WarmupSteps);
        }

        double progress = (double)(step - options.WarmupSteps) / Math.Max(1, options.Steps - options.WarmupSteps);
        double floor = options.FinalLearningRateFraction;
        return floor + ((1 - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
