using System.CommandLine;
using System.Globalization;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 warmstart --data train.json --eval test.json --out DIR</c>: supervised warm start of the small policy on
/// records with a target completion (the synthetic reasoning traces), then a greedy evaluation.
/// </summary>
internal static class WarmStartCommand
{
    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var data = new Option<string>("--data") { Description = "Training records with a 'completion' (e.g. synth-out/train.json).", Required = true };
        var eval = new Option<string?>("--eval") { Description = "Held-out records to evaluate on after training." };
        var output = new Option<string>("--out") { Description = "Folder to save the policy in.", Required = true };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { Description = "Examples per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Language-model learning rate.", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { Description = "Initialisation and sampling seed.", DefaultValueFactory = _ => 0 };
        var preset = new Option<string>("--preset") { Description = "Model preset: tiny, small (the built-in architecture) or qwen-tiny (a small Qwen2.5-VL).", DefaultValueFactory = _ => "tiny" };
        var device = DeviceOption.Create("auto, cpu, cuda or cuda:N.");
        var init = new Option<string?>("--init") { Description = "Start from this policy folder instead of random weights." };
        var drill = new Option<double>("--drill") { Description = "Share of each batch given to the text-only option-lookup drill.", DefaultValueFactory = _ => 0.5 };
        preset.AcceptOnlyFromAmong(PolicyRegistry.Presets.ToArray());
        var command = new Command("warmstart", "Supervised warm start of the small vision-language policy on reasoning traces; saves it and reports held-out accuracy.")
        {
            data, eval, output, steps, batch, lr, seed, preset, device, init, drill,
        };
        command.SetAction(parse =>
        {
            VqaLoadResult train;
            VqaLoadResult? heldOut = null;
            try
            {
                train = VqaDataLoader.Load(parse.GetValue(data)!);
                if (parse.GetValue(eval) is string evalPath)
                {
                    heldOut = VqaDataLoader.Load(evalPath);
                }
            }
            catch (VqaDataException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            var examples = train.Samples.Where(s => s.TargetCompletion.Length > 0 && s.IsMultipleChoice)
                .Select(s => new SupervisedExample(s.ImagePath, s.Question, s.Options, s.TargetCompletion)).ToList();
            if (examples.Count == 0)
            {
                stderr.WriteLine("error: no training record has a 'completion' to learn.");
                return ExitCodes.BadInput;
            }

            using var policy = parse.GetValue(init) is string from
                ? PolicyRegistry.Load(from, parse.GetValue(device)!)
                : PolicyRegistry.Create(parse.GetValue(preset)!, parse.GetValue(device)!, parse.GetValue(seed));
            console.MarkupLine($"Policy: {policy.ModelType}, {policy.TrainableParameterCount():N0} parameters, device {policy.Device.type}; {examples.Count} training examples.");
            var options = new SupervisedOptions
            {
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                VisionLearningRate = 2 * parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                ReportEvery = 25,
                DrillFraction = parse.GetValue(drill),
            };
            SupervisedTrainer.Train(policy, examples, options, new Progress<SupervisedProgress>(p =>
                console.MarkupLine($"step {p.Step}/{p.TotalSteps}  loss {p.Loss.ToString("0.0000", CultureInfo.InvariantCulture)}  lr {p.LearningRate.ToString("0.00e0", CultureInfo.InvariantCulture)}  {p.TokensPerSecond.ToString("0", CultureInfo.InvariantCulture)} tok/s  {p.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s")));
            policy.Save(parse.GetValue(output)!);
            console.MarkupLine($"Saved to [bold]{Markup.Escape(Path.GetFullPath(parse.GetValue(output)!))}[/].");
            if (heldOut is not null)
            {
                var report = PolicyEvaluation.Run(policy, heldOut.Samples);
                console.MarkupLine(report.Summary());
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
