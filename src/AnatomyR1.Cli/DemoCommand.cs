using System.CommandLine;
using System.Globalization;
using System.Text;
using AnatomyR1.Cli.Reporting;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 demo</c>: on the built-in synthetic scenes and checkpoint, trains plain GRPO and Anatomy-R1 (ASCL +
/// GDQA) with the same compute, evaluates both and the starting checkpoint on held-out questions, and writes a report
/// folder with a results table and plots (reward and batch-mean S(q) over training; invalid gradient ratio per class).
/// </summary>
internal static class DemoCommand
{
    /// <summary>Completions per held-out question for the headroom metrics (sampled accuracy, maj@k, pass@k).</summary>
    internal const int HeadroomK = 8;

    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var output = new Option<string>("--out") { Description = "Report folder (replaced).", DefaultValueFactory = _ => "anatomy-r1-demo" };
        var steps = new Option<int>("--steps") { Description = "GRPO steps per method.", DefaultValueFactory = _ => 40 };
        var records = new Option<int>("--records") { Description = "Synthetic questions generated (80% train, 20% held out).", DefaultValueFactory = _ => 1500 };
        var seed = new Option<int>("--seed") { Description = "Training seed (the data uses generator seed 11).", DefaultValueFactory = _ => 1 };
        var evalRecords = new Option<int>("--eval-records") { Description = "Extra held-out questions on fresh scenes (generator seed 12) for the paired evaluation; 0 evaluates on the 20% split alone.", DefaultValueFactory = _ => 2000 };
        var device = DeviceOption.Create("auto, cpu, cuda or cuda:N.");
        var command = new Command("demo", "Train plain GRPO and Anatomy-R1 (ASCL + GDQA) with equal compute on the built-in synthetic data; write report.md with results and plots.")
        {
            output, steps, records, seed, evalRecords, device,
        };
        command.SetAction(parse =>
        {
            string folder = Path.GetFullPath(parse.GetValue(output)!);
            string staging = folder + ".partial";
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            Directory.CreateDirectory(staging);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            SyntheticDatasetWriter.Write(Path.Combine(staging, "data"), new SyntheticDatasetOptions { Count = parse.GetValue(records), Seed = 11 }, overwrite: true);
            var loadedTrain = VqaDataLoader.Load(Path.Combine(staging, "data", "train.json"));
            var train = loadedTrain.Samples;
            IDataView trainView(MLContext ml) => loadedTrain.ToDataView(ml);
            var split = VqaDataLoader.Load(Path.Combine(staging, "data", "val.json")).Samples.Concat(VqaDataLoader.Load(Path.Combine(staging, "data", "test.json")).Samples).ToList();
            var heldOut = split;
            if (parse.GetValue(evalRecords) > 0)
            {
                // More held-out questions on scenes of another generator seed: a paired difference of a few points needs
                // thousands of questions (the report states the smallest detectable one).
                SyntheticDatasetWriter.Write(Path.Combine(staging, "eval"), new SyntheticDatasetOptions { Count = parse.GetValue(evalRecords), Seed = 12, TrainFraction = 0, ValidationFraction = 0 }, overwrite: true);
                heldOut = split.Concat(VqaDataLoader.Load(Path.Combine(staging, "eval", "test.json")).Samples).ToList();
            }

            // Headroom (k samples per question) on the split alone: it costs k generations per question.
            var headroomSet = split;
            console.MarkupLine(Markup.Escape($"Synthetic data: {train.Count} training and {heldOut.Count} held-out questions ({split.Count} from the split, generator seed 11; {heldOut.Count - split.Count} on fresh scenes, seed 12)."));

            var results = new List<MethodResult>();
            using (var start = BuiltInPolicy.Load(parse.GetValue(device)!))
            {
                var before = PolicyEvaluation.Run(start, heldOut);
                var headroom = PolicyHeadroom.Run(start, headroomSet, HeadroomK, seed: 7);
                results.Add(new MethodResult("start (built-in checkpoint)", before.Accuracy, before.Count, Array.Empty<GrpoStepMetrics>(), 0) { Evaluation = before, Headroom = headroom, Key = "start" });
                console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"start: held-out accuracy {before.Accuracy:P1}")));
            }

            foreach (string method in new[] { TrainingMethods.Grpo, TrainingMethods.AnatomyR1 })
            {
                // The method's estimator chain (S(q) → GDQA forms → GRPO trainer), driven step by step for the live display.
                var ml = new MLContext(seed: parse.GetValue(seed));
                IDataView prepared;
                using (var start = BuiltInPolicy.Load(parse.GetValue(device)!))
                {
                    prepared = TrainingMethods.Preparation(ml, method, start, variants: 4, seed: parse.GetValue(seed)).Fit(trainView(ml)).Transform(trainView(ml));
                }

                var options = new GrpoOptions { Steps = parse.GetValue(steps), BatchSize = 8, NumGenerations = 8, Seed = parse.GetValue(seed), Generation = new GenerationOptions { MaxNewTokens = 64 } };
                var estimator = TrainingMethods.Trainer(ml, method, new GrpoTrainerOptions { Grpo = options, Device = parse.GetValue(device)!, RunFolder = Path.Combine(staging, "runs", method) }, GdqaMode.Static);
                var runClock = System.Diagnostics.Stopwatch.StartNew();
                List<GrpoStepMetrics> history;
                using var trainer = estimator.CreateSession(prepared);
                history = TrainingDisplay.Run(console, trainer, options.Steps, options.Steps, method, CancellationToken.None);
                var policy = trainer.Policy;
                var after = PolicyEvaluation.Run(policy, heldOut);
                var headroom = PolicyHeadroom.Run(policy, headroomSet, HeadroomK, seed: 7);
                results.Add(new MethodResult(method, after.Accuracy, after.Count, history, runClock.Elapsed.TotalSeconds) { Evaluation = after, Headroom = headroom, Key = method });
                console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{method}: held-out accuracy {after.Accuracy:P1} after {history.Count} steps ({runClock.Elapsed.TotalSeconds:0} s)")));
            }

            DemoReport.WriteResults(staging, results);
            DemoReport.Write(staging, results, train.Count, heldOut.Count, parse.GetValue(steps), clock.Elapsed);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            Directory.Move(staging, folder);
            RenderTable(console, results);
            console.MarkupLine(Markup.Escape($"Report: {Path.Combine(folder, "report.md")} (plots beside it); {clock.Elapsed.TotalMinutes:0.0} min in all."));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void RenderTable(IAnsiConsole console, List<MethodResult> results)
    {
        var table = new Table().Title("Held-out accuracy (greedy) and invalid gradient ratio");
        foreach (string h in new[] { "method", "accuracy", "± SE", "invalid gradient ratio", "batch S(q) first → last 5 steps" })
        {
            table.AddColumn(h);
        }

        foreach (var r in results)
        {
            table.AddRow(Markup.Escape(r.Name), r.Accuracy.ToString("P1", CultureInfo.InvariantCulture), r.StandardError.ToString("P1", CultureInfo.InvariantCulture),
                r.History.Count == 0 ? "–" : r.MeanOf("frac_reward_zero_std").ToString("0.000", CultureInfo.InvariantCulture),
                r.History.Count == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{r.MeanOf("curriculum/mean_s_q", 0, 5):0.000} → {r.MeanOf("curriculum/mean_s_q", r.History.Count - 5, 5):0.000}"));
        }

        console.Write(table);
    }
}

/// <summary>One row of the demo's results.</summary>
internal sealed record MethodResult(string Name, double Accuracy, int Count, IReadOnlyList<GrpoStepMetrics> History, double Seconds)
{
    /// <summary>The name in results.json (start, grpo, anatomy-r1).</summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>The greedy evaluation with per-question correctness and perception.</summary>
    public PolicyEvaluation? Evaluation { get; init; }

    /// <summary>Sampled accuracy, maj@k and pass@k.</summary>
    public PolicyHeadroom? Headroom { get; init; }

    /// <summary>This method against the start on the same questions (null for the start).</summary>
    public AnatomyR1.Evaluation.PairedComparison? VersusStart { get; set; }

    /// <summary>This method against the method before it in the results (Anatomy-R1 against GRPO), or null.</summary>
    public AnatomyR1.Evaluation.PairedComparison? VersusPrevious { get; set; }

    public double StandardError => Math.Sqrt(Accuracy * (1 - Accuracy) / Math.Max(1, Count));

    public double MeanOf(string metric, int from = 0, int count = int.MaxValue) =>
        History.Skip(Math.Max(0, from)).Take(count).Select(m => m.TryGet(metric, out double v) ? v : double.NaN).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}

/// <summary>Writes report.md and the plots of the demo.</summary>
internal static class DemoReport
{
    /// <summary>
    /// Pairs every trained method with the start on the same held-out questions and writes results.json:
    /// <c>{"held_out", "k", "methods": [{"name", "n", "accuracy", "delta_vs_start", "delta_ci95", "mcnemar_p",
    /// "perception", "sampled_accuracy", "maj_at_k", "pass_at_k"}], "comparisons": [...]}</c>.
    /// </summary>
    public static void WriteResults(string folder, List<MethodResult> results)
    {
        var start = results[0];
        foreach (var r in results.Skip(1))
        {
            r.VersusStart = AnatomyR1.Evaluation.PairedComparison.Of(start.Evaluation!.Correct, r.Evaluation!.Correct, seed: 1);
        }

        static double Round(double v) => Math.Round(v, 6);
        var methods = results.Select(r => new Dictionary<string, object?>
        {
            ["name"] = r.Key,
            ["n"] = r.Count,
            ["accuracy"] = Round(r.Accuracy),
            ["delta_vs_start"] = Round(r.VersusStart?.Difference ?? 0),
            ["delta_ci95"] = r.VersusStart is { } v ? new[] { Round(v.Lower), Round(v.Upper) } : new[] { 0.0, 0.0 },
            ["mcnemar_p"] = r.VersusStart is { } m ? Round(m.McNemarP) : 1.0,
            ["perception"] = Round(r.Evaluation!.TraceNamesAnswer),
            ["letter_agrees_with_trace"] = Round(r.Evaluation.LetterAgreesWithTrace),
            ["sampled_accuracy"] = Round(r.Headroom!.SampledAccuracy),
            ["maj_at_k"] = Round(r.Headroom.MajorityAccuracy),
            ["pass_at_k"] = Round(r.Headroom.PassAtK),
        }).ToList();
        var comparisons = new List<Dictionary<string, object?>>();
        void Compare(MethodResult a, MethodResult b, AnatomyR1.Evaluation.PairedComparison c)
        {
            comparisons.Add(new Dictionary<string, object?>
            {
                ["a"] = a.Key, ["b"] = b.Key, ["n"] = c.Count, ["delta"] = Round(c.Difference), ["ci95"] = new[] { Round(c.Lower), Round(c.Upper) },
                ["only_a"] = c.OnlyA, ["only_b"] = c.OnlyB, ["mcnemar_p"] = Round(c.McNemarP), ["minimum_detectable_effect"] = Round(c.MinimumDetectableEffect),
            });
        }

        foreach (var r in results.Skip(1))
        {
            Compare(start, r, r.VersusStart!);
        }

        if (results.Count > 2)
        {
            results[2].VersusPrevious = AnatomyR1.Evaluation.PairedComparison.Of(results[1].Evaluation!.Correct, results[2].Evaluation!.Correct, seed: 1);
            Compare(results[1], results[2], results[2].VersusPrevious!);
        }

        var document = new Dictionary<string, object?> { ["held_out"] = start.Count, ["k"] = start.Headroom!.K, ["headroom_questions"] = start.Headroom.Count, ["methods"] = methods, ["comparisons"] = comparisons };
        File.WriteAllText(Path.Combine(folder, "results.json"), System.Text.Json.JsonSerializer.Serialize(document, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    public static void Write(string folder, List<MethodResult> results, int trainCount, int heldOutCount, int steps, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        var trained = results.Where(r => r.History.Count > 0).ToList();
        ChartSeries Series(MethodResult r, string metric, int smooth = 1) => new(r.Name, Smooth(r.History.Select(m => ((double)m.Step, m.TryGet(metric, out double v) ? v : double.NaN)).ToList(), smooth));
        File.WriteAllBytes(Path.Combine(folder, "reward.png"), ReportCharts.Lines("Reward (accuracy + format), 5-step moving mean", "step", "reward", trained.Select(r => Series(r, "reward", 5)).ToList()));
        File.WriteAllBytes(Path.Combine(folder, "s_q.png"), ReportCharts.Lines("Batch-mean S(q) of the drawn questions", "step", "S(q)", trained.Select(r => Series(r, "curriculum/mean_s_q")).ToList()));
        File.WriteAllBytes(Path.Combine(folder, "invalid_gradient.png"), ReportCharts.Lines("Invalid gradient ratio (frac_reward_zero_std), 5-step moving mean", "step", "share of groups", trained.Select(r => Series(r, "frac_reward_zero_std", 5)).ToList()));
        var classes = AnatomyClasses.All;
        File.WriteAllBytes(Path.Combine(folder, "invalid_gradient_per_class.png"), ReportCharts.Bars("Invalid gradient ratio per answer class (mean over steps)", "share of groups", classes,
            trained.Select(r => (r.Name, (IReadOnlyList<double>)classes.Select(c => r.MeanOf($"frac_reward_zero_std/{c}")).ToList())).ToList()));

        var grpo = trained.First(r => r.Name == TrainingMethods.Grpo);
        var ar1 = trained.First(r => r.Name == TrainingMethods.AnatomyR1);
        var text = new StringBuilder();
        text.AppendLine("# AnatomyR1 demo: GRPO vs Anatomy-R1 (ASCL + GDQA)");
        text.AppendLine();
        text.AppendLine(string.Create(inv, $"Built-in synthetic scenes ({trainCount} training questions, {heldOutCount} held out: the 20% split of generator seed 11 and fresh scenes of seed 12), built-in warm-started checkpoint, {steps} GRPO steps of 8 prompts × 8 completions per method (equal compute in steps, prompts and completions), default GRPO options (lr 1e-4, β 0.04, rewards accuracy + format). Anatomy-R1 = the S(q) curriculum (policy token embeddings, linear pacing from 20% to all questions at 80% of the run) + GDQA (questions at or above the median S(q) get 4 forms; each group is spread over them). {elapsed.TotalMinutes:0.0} minutes in all."));
        text.AppendLine();
        text.AppendLine("| Method | Held-out accuracy | ± SE | Invalid gradient ratio (mean over steps) | Batch S(q), first → last 5 steps | Training time |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in results)
        {
            text.AppendLine(r.History.Count == 0
                ? string.Create(inv, $"| {r.Name} | {r.Accuracy:P1} | {r.StandardError:P1} | – | – | – |")
                : string.Create(inv, $"| {r.Name} | {r.Accuracy:P1} | {r.StandardError:P1} | {r.MeanOf("frac_reward_zero_std"):0.000} | {r.MeanOf("curriculum/mean_s_q", 0, 5):0.000} → {r.MeanOf("curriculum/mean_s_q", r.History.Count - 5, 5):0.000} | {r.Seconds:0} s |"));
        }

        text.AppendLine();
        int k = results[0].Headroom!.K;
        text.AppendLine(string.Create(inv, $"Paired on the same {heldOutCount} held-out questions (difference to the start with a 95% paired-bootstrap interval and McNemar's exact p), perception (the trace names the right anatomy) and headroom from {k} samples per question at T = 1 on {results[0].Headroom!.Count} of them (results.json has all of it):"));
        text.AppendLine();
        text.AppendLine($"| Method | Accuracy | Δ vs start [95% CI] | McNemar p | Perception | Sampled accuracy | maj@{k} | pass@{k} |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in results)
        {
            string delta = r.VersusStart is { } v ? string.Create(inv, $"{v.Difference * 100:+0.0;-0.0;0.0} [{v.Lower * 100:+0.0;-0.0;0.0}, {v.Upper * 100:+0.0;-0.0;0.0}] pts") : "–";
            string p = r.VersusStart is { } m ? m.McNemarP.ToString("0.000", inv) : "–";
            text.AppendLine(string.Create(inv, $"| {r.Name} | {r.Accuracy:P1} | {delta} | {p} | {r.Evaluation!.TraceNamesAnswer:P1} | {r.Headroom!.SampledAccuracy:P1} | {r.Headroom.MajorityAccuracy:P1} | {r.Headroom.PassAtK:P1} |"));
        }

        text.AppendLine();
        text.AppendLine("## What the numbers show");
        text.AppendLine();
        foreach (var r in results.Skip(1))
        {
            var v = r.VersusStart!;
            string verdict = v.Lower > 0 ? "above the start: the whole interval is above zero"
                : v.Upper < 0 ? "below the start: the whole interval is below zero"
                : "no measurable change: the interval includes zero";
            double perceptionChange = r.Evaluation!.TraceNamesAnswer - results[0].Evaluation!.TraceNamesAnswer;
            text.AppendLine(string.Create(inv, $"- {r.Name} vs start: {v.Difference * 100:+0.0;-0.0;0.0} points [{v.Lower * 100:+0.0;-0.0;0.0}, {v.Upper * 100:+0.0;-0.0;0.0}], {v.OnlyB} questions gained and {v.OnlyA} lost — {verdict}. Perception {perceptionChange * 100:+0.0;-0.0;0.0} points. With this many questions and this discordance the smallest difference detectable with 80% power is {v.MinimumDetectableEffect * 100:0.0} points."));
        }

        var start0 = results[0].Headroom!;

        // Greedy accuracy on the questions the headroom was sampled on (the first ones of the held-out list).
        double greedy = results[0].Evaluation!.Correct.Take(start0.Count).Count(c => c) / (double)Math.Max(1, start0.Count);
        double headroom = start0.MajorityAccuracy - greedy;
        string reading = headroom > 0.01
            ? string.Create(inv, $"the majority of {k} samples is {headroom * 100:0.0} points above greedy decoding: headroom RL can turn into greedy accuracy")
            : string.Create(inv, $"the majority of {k} samples is not above greedy decoding ({headroom * 100:+0.0;-0.0;0.0} points): sampling shows no headroom on these questions that RL could turn into greedy accuracy");
        text.AppendLine(string.Create(inv, $"- Headroom of the start on {start0.Count} questions: greedy {greedy:P1}, one sample at T = 1 {start0.SampledAccuracy:P1}, majority of {k} {start0.MajorityAccuracy:P1}, any of {k} {start0.PassAtK:P1} — {reading}. pass@{k} mostly counts lucky letters (a random guesser among 4 options reaches {1 - Math.Pow(0.75, k):P0})."));
        double zeroGrpo = grpo.MeanOf("frac_reward_zero_std"), zeroAr1 = ar1.MeanOf("frac_reward_zero_std");
        double se = Math.Sqrt((ar1.StandardError * ar1.StandardError) + (grpo.StandardError * grpo.StandardError));
        var paired = ar1.VersusPrevious ?? AnatomyR1.Evaluation.PairedComparison.Of(grpo.Evaluation!.Correct, ar1.Evaluation!.Correct, seed: 1);
        text.AppendLine(string.Create(inv, $"- Anatomy-R1 vs GRPO, paired: {paired.Difference * 100:+0.0;-0.0;0.0} points [{paired.Lower * 100:+0.0;-0.0;0.0}, {paired.Upper * 100:+0.0;-0.0;0.0}] (McNemar p = {paired.McNemarP:0.000}), {(paired.Significant ? "a measurable difference" : "no measurable difference from one seed")}; unpaired the standard error of the difference would be {se * 100:0.0} points."));
        double arFirst = ar1.MeanOf("curriculum/mean_s_q", 0, 5), arLast = ar1.MeanOf("curriculum/mean_s_q", ar1.History.Count - 5, 5);
        double gFirst = grpo.MeanOf("curriculum/mean_s_q", 0, 5), gLast = grpo.MeanOf("curriculum/mean_s_q", grpo.History.Count - 5, 5);
        text.AppendLine(string.Create(inv, $"- Curriculum: the batch-mean S(q) under Anatomy-R1 went from {arFirst:0.000} to {arLast:0.000} ({(arLast > arFirst + 0.05 ? "it rose: easy questions first" : "it did not rise clearly")}); under GRPO (random order) from {gFirst:0.000} to {gLast:0.000} ({(Math.Abs(gLast - gFirst) < 0.07 ? "about flat, as random order should be" : "batch-to-batch noise of 8 questions")}; see s_q.png)."));
        text.AppendLine(string.Create(inv, $"- Dead groups: the invalid gradient ratio averaged {zeroGrpo:0.000} under GRPO and {zeroAr1:0.000} under Anatomy-R1 ({(zeroAr1 < zeroGrpo - 0.03 ? "lower with Anatomy-R1" : zeroAr1 > zeroGrpo + 0.03 ? "higher with Anatomy-R1: its curriculum starts on easy questions, which are often answered right by all 8 completions" : "about the same")}; invalid_gradient.png, per class in invalid_gradient_per_class.png)."));
        text.AppendLine("- One seed and a short run: for mean ± std over three seeds of all four methods and a supervised control see docs/reproduction.md; for GDQA alone docs/gdqa.md.");
        if (!ReportCharts.HasFont)
        {
            text.AppendLine("- No DejaVu Sans font was found, so the plots' labels may be missing (install fonts-dejavu-core).");
        }

        text.AppendLine();
        text.AppendLine("![Reward](reward.png)");
        text.AppendLine();
        text.AppendLine("![Batch-mean S(q)](s_q.png)");
        text.AppendLine();
        text.AppendLine("![Invalid gradient ratio](invalid_gradient.png)");
        text.AppendLine();
        text.AppendLine("![Invalid gradient ratio per class](invalid_gradient_per_class.png)");
        text.AppendLine();
        text.AppendLine("Metrics of every step: runs/grpo/metrics.jsonl and runs/anatomy-r1/metrics.jsonl.");
        File.WriteAllText(Path.Combine(folder, "report.md"), text.ToString());
    }

    private static List<(double X, double Y)> Smooth(List<(double X, double Y)> points, int window)
    {
        if (window <= 1)
        {
            return points;
        }

        return points.Select((p, i) =>
        {
            var span = points.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Select(q => q.Y).Where(double.IsFinite).ToList();
            return (p.X, span.Count == 0 ? double.NaN : span.Average());
        }).ToList();
    }
}
