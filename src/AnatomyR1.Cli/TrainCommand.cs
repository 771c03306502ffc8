using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 train --data FILE --method grpo|ascl|gdqa|anatomy-r1 --out DIR</c>: GRPO of the policy on a user's
/// multiple-choice data with a live progress display; metrics and checkpoints go to the output folder, Ctrl-C writes a
/// checkpoint and exits, <c>--resume</c> continues from the latest checkpoint.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var data = new Option<string>("--data") { Description = "Training records (any supported format; multiple choice with images).", Required = true };
        var eval = new Option<string?>("--eval") { Description = "Held-out records to evaluate the trained policy on (greedy)." };
        var method = new Option<string>("--method") { Description = "grpo, ascl (curriculum), gdqa (question variants) or anatomy-r1 (both).", DefaultValueFactory = _ => TrainingMethods.AnatomyR1 };
        var model = new Option<string?>("--model") { Description = "Start from this policy folder; default the built-in warm-started checkpoint." };
        var output = new Option<string>("--out") { Description = "Run folder: metrics.jsonl, checkpoints/, policy/ and summary.json.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from the latest checkpoint in --out." };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed of sampling, rollouts and variants.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Prompts per step (B).", DefaultValueFactory = _ => 8 };
        var generations = new Option<int>("--num-generations") { Description = "Completions per prompt (G).", DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-4 };
        var beta = new Option<double>("--beta") { Description = "KL weight (0 skips the reference model).", DefaultValueFactory = _ => 0.04 };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens per completion.", DefaultValueFactory = _ => 64 };
        var loss = new Option<string>("--loss") { Description = "grpo, bnpo, dr-grpo or dapo.", DefaultValueFactory = _ => "grpo" };
        var dynamic = new Option<bool>("--dynamic-sampling") { Description = "Replace all-equal-reward groups by fresh prompts." };
        var variants = new Option<int>("--variants") { Description = "GDQA forms per difficult question (original included).", DefaultValueFactory = _ => 4 };
        var gdqaMode = new Option<string>("--gdqa-mode") { Description = "static (every difficult prompt) or adaptive (after a zero-variance group).", DefaultValueFactory = _ => "static" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => 25 };
        var stopAfter = new Option<int>("--stop-after") { Description = "Stop after this many steps in this invocation, writing a checkpoint as Ctrl-C does (for time-limited jobs); 0 runs to the end.", DefaultValueFactory = _ => 0 };
        var loraRank = new Option<int>("--lora-rank") { Description = "Train LoRA adapters of this rank instead of all weights (0: full fine-tuning). The KL reference is the model with its adapters off.", DefaultValueFactory = _ => 0 };
        var loraAlpha = new Option<double?>("--lora-alpha") { Description = "LoRA scale numerator (adapter output × alpha / rank); default twice the rank." };
        var loraDropout = new Option<double>("--lora-dropout") { Description = "Dropout on the adapters' input in training.", DefaultValueFactory = _ => 0.05 };
        var loraTargets = new Option<string?>("--lora-targets") { Description = "Comma-separated names or regular expressions of the Linear modules to adapt; default the language model's attention and MLP projections (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)." };
        var allowChanged = new Option<string?>("--allow-changed") { Description = "With --resume: comma-separated settings that may differ from the run's (e.g. learning_rate, data); others are refused." };
        var shards = new Option<int>("--shards") { Description = "Slices of the global batch, each sampled with its own seed; 0: one per process (mpirun -np N gives N). One process with --shards N reproduces mpirun -np N.", DefaultValueFactory = _ => 0 };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each decoder layer's activations in the backward pass (less memory, one more forward pass)." };
        var device = DeviceOption.Create("auto, cpu, cuda or cuda:N.");
        method.AcceptOnlyFromAmong(TrainingMethods.All.ToArray());
        loss.AcceptOnlyFromAmong("grpo", "bnpo", "dr-grpo", "dapo");
        gdqaMode.AcceptOnlyFromAmong("static", "adaptive");
        var loader = new LoaderArguments();
        var command = new Command("train", "GRPO of the policy on your data with ASCL and/or GDQA; live progress, checkpoints, Ctrl-C to stop and --resume to continue.");
        foreach (var option in new Option[] { data, eval, method, model, output, resume, steps, seed, batch, generations, lr, beta, maxTokens, loss, dynamic, variants, gdqaMode, checkpointEvery, stopAfter, loraRank, loraAlpha, loraDropout, loraTargets, checkpointing, allowChanged, shards, device })
        {
            command.Options.Add(option);
        }

        loader.AddTo(command);
        command.SetAction(parse =>
        {
            // Under mpirun every process runs this command; the first one prints and writes the run folder.
            var processes = ProcessGroups.FromEnvironment();
            bool main = processes.Rank == 0;
            if (!main)
            {
                console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
            }

            string run = Path.GetFullPath(parse.GetValue(output)!);
            string chosen = parse.GetValue(method)!;
            VqaLoadResult loadedTrain;
            List<VqaSample> train;
            List<VqaSample>? heldOut = null;
            try
            {
                loadedTrain = VqaDataLoader.Load(parse.GetValue(data)!, loader.Build(parse));
                train = loadedTrain.Samples.Where(s => s.IsMultipleChoice).ToList();
                if (parse.GetValue(eval) is string evalPath)
                {
                    heldOut = VqaDataLoader.Load(evalPath, loader.Build(parse)).Samples.Where(s => s.IsMultipleChoice).ToList();
                }
            }
            catch (VqaDataException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            if (train.Count == 0)
            {
                stderr.WriteLine("error: no multiple-choice record to train on.");
                return ExitCodes.BadInput;
            }

            if (train.FirstOrDefault(s => !File.Exists(s.ImagePath)) is { } missing)
            {
                stderr.WriteLine($"error: {missing.SourceFile} record {missing.RecordIndex}, field images: '{missing.ImagePath}' does not exist (use --images and --map).");
                return ExitCodes.BadInput;
            }

            var options = new GrpoOptions
            {
                Steps = parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(batch),
                NumGenerations = parse.GetValue(generations),
                LearningRate = parse.GetValue(lr),
                VisionLearningRate = parse.GetValue(lr),
                Beta = parse.GetValue(beta),
                LossType = parse.GetValue(loss) switch { "bnpo" => GrpoLossType.Bnpo, "dr-grpo" => GrpoLossType.DrGrpo, "dapo" => GrpoLossType.Dapo, _ => GrpoLossType.Grpo },
                DynamicSampling = parse.GetValue(dynamic),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Generation = new GenerationOptions { MaxNewTokens = parse.GetValue(maxTokens) },
                GradientCheckpointing = parse.GetValue(checkpointing),
                SkipInvalidImages = parse.GetValue(loader.Lenient),
                Shards = parse.GetValue(shards),
                ProcessGroup = processes,
            };
            if (parse.GetValue(loraRank) is int rank and not 0)
            {
                var lora = new LoraOptions { Rank = rank, Alpha = parse.GetValue(loraAlpha) ?? 2.0 * rank, Dropout = parse.GetValue(loraDropout) };
                if (parse.GetValue(loraTargets) is string targets)
                {
                    lora = lora with { TargetModules = targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                }

                options.Lora = lora;
            }
            else if (parse.GetValue(loraAlpha) is not null || parse.GetValue(loraTargets) is not null)
            {
                stderr.WriteLine("error: --lora-alpha and --lora-targets need --lora-rank.");
                return ExitCodes.Usage;
            }
            TrainingMethods.Configure(chosen, options, parse.GetValue(gdqaMode) == "adaptive" ? GdqaMode.Adaptive : GdqaMode.Static);
            try
            {
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.Usage;
            }

            // Finding the checkpoint removes folders left by a killed save: the first process does that before the others look.
            if (!main)
            {
                processes.Barrier();
            }

            string? checkpoint = parse.GetValue(resume)
                ? GrpoCheckpoint.LatestIntact(Path.Combine(run, GrpoSession.CheckpointsFolder), warning => stderr.WriteLine("warning: " + warning))
                : null;
            if (main)
            {
                processes.Barrier();
            }

            if (parse.GetValue(resume) && checkpoint is null)
            {
                // A run stopped (or killed) before its first checkpoint starts again from step 0; a folder that is not a
                // run folder is an error.
                // A missing or empty folder is a run killed before it wrote anything.
                bool runFolder = !Directory.Exists(run) || !Directory.EnumerateFileSystemEntries(run).Any()
                    || File.Exists(Path.Combine(run, GrpoSession.MetricsFile)) || Directory.Exists(Path.Combine(run, GrpoSession.CheckpointsFolder));
                if (!runFolder)
                {
                    stderr.WriteLine($"error: --resume: '{run}' is not a run folder (no {GrpoSession.MetricsFile}, no {GrpoSession.CheckpointsFolder}/) and has no checkpoint to continue from.");
                    return ExitCodes.BadInput;
                }

                if (main)
                {
                    stderr.WriteLine($"warning: --resume: '{run}' has no intact checkpoint yet; starting the run from step 0.");
                }
            }

            if (!parse.GetValue(resume) && Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any())
            {
                stderr.WriteLine($"error: '{run}' is not empty; use another --out, or --resume to continue the run in it.");
                return ExitCodes.BadInput;
            }

            // Every process has checked the run folder before the first one writes to it.
            processes.Barrier();
            if (main && parse.GetValue(resume) && checkpoint is null)
            {
                File.Delete(Path.Combine(run, GrpoSession.MetricsFile));
            }

            // The method's estimator chain, as a user builds it: S(q) → (GDQA forms) → the GRPO trainer, whose session this
            // command drives step by step for the live display, Ctrl-C and --stop-after.
            var ml = new MLContext(seed: parse.GetValue(seed));
            var view = (loadedTrain with { Samples = train }).ToDataView(ml);
            IDataView prepared;
            string modelType;
            long total;
            using (var start = PolicyRegistry.LoadOrBuiltIn(parse.GetValue(model), parse.GetValue(device)!))
            {
                prepared = TrainingMethods.Preparation(ml, chosen, start, parse.GetValue(variants), parse.GetValue(seed)).Fit(view).Transform(view);
                (modelType, total) = (start.ModelType, start.TrainableParameterCount());
            }

            var estimator = TrainingMethods.Trainer(ml, chosen, new GrpoTrainerOptions
            {
                Grpo = options,
                InitialPolicyFolder = parse.GetValue(model),
                Device = parse.GetValue(device)!,
                RunFolder = run,
                ResumeFrom = checkpoint,
                AllowChangedSettings = parse.GetValue(allowChanged)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? Array.Empty<string>(),
                Warning = warning => stderr.WriteLine("warning: " + warning),
            }, parse.GetValue(gdqaMode) == "adaptive" ? GdqaMode.Adaptive : GdqaMode.Static);
            using var trainer = estimator.CreateSession(prepared);
            var examples = trainer.Examples;
            string trained = trainer.Adapters is { } adapters
                ? $"LoRA r = {adapters.Options.Rank} on {adapters.TargetNames.Count} modules: {trainer.TrainableParameterCount:N0} of {total:N0} parameters trained"
                : $"{trainer.TrainableParameterCount:N0} parameters trained";
            console.MarkupLine(Markup.Escape($"{chosen}: {examples.Count} prompts ({examples.Count(e => e.Variants is { Count: > 1 })} with question variants), {options.Steps} steps of {options.BatchSize} × {options.NumGenerations}, policy {modelType} ({trained}) on {trainer.Policy.Device.type}; run folder {run}"));
            if (checkpoint is not null)
            {
                console.MarkupLine(Markup.Escape($"Resumed from {checkpoint} at step {trainer.Step}."));
            }

            using var cancel = new CancellationTokenSource();
            int stopCode = ExitCodes.Interrupted;
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;

            // SIGTERM (docker stop, Kubernetes, Slurm, systemd) and SIGHUP stop the run like Ctrl-C: the current step
            // finishes, a checkpoint is written, and the exit code names the signal.
            using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stopCode = ExitCodes.Terminated;
                cancel.Cancel();
            });
            using var onHangUp = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                stopCode = ExitCodes.HungUp;
                cancel.Cancel();
            });

            // SIGUSR1 does the same as SIGTERM. Open MPI's mpirun forwards it to every process at once, whereas its own
            // SIGTERM reaches them only after odls_base_sigkill_timeout (1 s by default) with SIGKILL as many seconds later:
            // kill -USR1 <mpirun> stops a data-parallel run with a checkpoint however long a step takes.
            using var onUser1 = System.Runtime.InteropServices.PosixSignalRegistration.Create((System.Runtime.InteropServices.PosixSignal)10, context =>
            {
                context.Cancel = true;
                stopCode = ExitCodes.Terminated;
                cancel.Cancel();
            });
            try
            {
                int end = parse.GetValue(stopAfter) > 0 ? Math.Min(options.Steps, trainer.Step + parse.GetValue(stopAfter)) : options.Steps;
                var history = TrainingDisplay.Run(console, trainer, end, options.Steps, chosen, cancel.Token);
                var policy = trainer.Policy;
                if (trainer.Step < options.Steps)
                {
                    string interrupted = Path.Combine(run, GrpoSession.CheckpointsFolder, GrpoCheckpoint.FolderName(trainer.Step));
                    if (!Directory.Exists(interrupted))
                    {
                        trainer.SaveCheckpoint(interrupted);
                    }

                    console.MarkupLine(Markup.Escape($"Stopped at step {trainer.Step}; checkpoint {interrupted}. Continue with the same command and --resume."));
                    return cancel.IsCancellationRequested ? stopCode : ExitCodes.Interrupted;
                }

                if (!main)
                {
                    // The first process saves the policy and evaluates it; the others hold the same weights.
                    if (trainer.Adapters is not null)
                    {
                        trainer.MergeAdapters();
                    }

                    return ExitCodes.Ok;
                }

                if (trainer.Adapters is not null)
                {
                    // The adapters alone (PEFT layout, for Python or --resume-style reuse), then the merged model.
                    trainer.SaveAdapters(Path.Combine(run, "adapter"), parse.GetValue(model));
                    trainer.MergeAdapters();
                }

                policy.Save(Path.Combine(run, "policy"));
                var summary = new Dictionary<string, object?> { ["method"] = chosen, ["steps"] = trainer.Step, ["prompts"] = examples.Count };
                if (heldOut is not null)
                {
                    var evaluation = PolicyEvaluation.Run(policy, heldOut);
                    double se = Math.Sqrt(evaluation.Accuracy * (1 - evaluation.Accuracy) / Math.Max(1, evaluation.Count));
                    summary["held_out"] = evaluation.Count;
                    summary["accuracy"] = evaluation.Accuracy;
                    summary["accuracy_se"] = se;
                    summary["format"] = evaluation.FormatCompliance;
                    console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy {evaluation.Accuracy:P1} ± {se:P1} (n = {evaluation.Count}), format {evaluation.FormatCompliance:P1}.")));
                }

                AnatomyR1.IO.AtomicFile.WriteAllText(Path.Combine(run, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
                console.MarkupLine(Markup.Escape($"Trained {history.Count} steps; policy saved to {Path.Combine(run, "policy")}."));
                return ExitCodes.Ok;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }
}
