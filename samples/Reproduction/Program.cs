// The reproduction experiment on the built-in synthetic benchmark, from the built-in warm-started checkpoint, at equal
// compute: GRPO, GRPO+ASCL, GRPO+GDQA and Anatomy-R1 (same steps, B and G; the presets of TrainingMethods), a
// supervised control given the same wall time as the mean GRPO run (continued training on the reasoning traces), and
// two GDQA ablations. For every seed and method it records held-out accuracy (overall and per class), the invalid
// gradient ratio (frac_reward_zero_std) over training and per class, and the batch-mean S(q) curve; it writes
// results.json and report.md.
//
// Run: dotnet run -c Release --project samples/Reproduction -- [steps] [seeds, e.g. 1,2,3] [output folder] [methods]
// Methods (comma-separated; default grpo,ascl,gdqa,anatomy-r1,sft): grpo, ascl, gdqa, anatomy-r1 (TrainingMethods);
// sft (supervised control at equal wall time); gdqa-all (every question gets forms, not only those at or above the
// median S(q)); gdqa-no-permute and gdqa-permute-only (gdqa-all with one kind of generator).
using System.Globalization;
using System.Text;
using System.Text.Json;
using AnatomyR1;
using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;

var inv = CultureInfo.InvariantCulture;
int steps = args.Length > 0 ? int.Parse(args[0], inv) : 60;
int[] seeds = (args.Length > 1 ? args[1] : "1,2,3").Split(',').Select(s => int.Parse(s, inv)).ToArray();
string output = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "anatomyr1-reproduction");
string[] methods = (args.Length > 3 ? args[3] : "grpo,ascl,gdqa,anatomy-r1,sft").Split(',');
Directory.CreateDirectory(output);
TorchRuntime.EnsureThreads();

// Data: 2,000 fresh synthetic questions (generator seed 11): 1,600 to train on, 400 held out (val + test).
string data = Path.Combine(output, "data");
SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 2000, Seed = 11 }, overwrite: true);
var train = VqaDataLoader.Load(Path.Combine(data, "train.json")).Samples;
var heldOut = VqaDataLoader.Load(Path.Combine(data, "val.json")).Samples.Concat(VqaDataLoader.Load(Path.Combine(data, "test.json")).Samples).ToList();

var ml = new MLContext(seed: 0);
var trainView = VqaDataLoader.Load(Path.Combine(data, "train.json")).ToDataView(ml);

// The GDQA ablations: every question gets forms, from all generators or one kind.
var ablations = new Dictionary<string, GroupDiversityOptions>
{
    ["gdqa-all"] = new() { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7 },
    ["gdqa-no-permute"] = new() { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7, PermuteOptions = false },
    ["gdqa-permute-only"] = new() { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7, SceneGraphReferences = false, Rephrase = false, RelationSynonyms = false },
};

// Every method is an estimator chain: S(q) from the starting policy → (GDQA forms) → the GRPO trainer.
IEstimator<ITransformer> Preparation(string method, IVisionLanguagePolicy policy, int seed) => ablations.TryGetValue(method, out var forms)
    ? ml.AnatomyR1().AnatomicalSimilarity(policy).Append(ml.AnatomyR1().GroupDiversityAugment(forms))
    : TrainingMethods.Preparation(ml, method, policy, 4, seed);

(double Accuracy, Dictionary<string, double> PerClass) Evaluate(IVisionLanguagePolicy policy)
{
    var evaluation = PolicyEvaluation.Run(policy, heldOut);
    var correct = evaluation.Correct;
    var perClass = AnatomyClasses.All.ToDictionary(c => c, c => heldOut.Select((s, i) => (s, i)).Where(x => x.s.Answer == c).Select(x => correct[x.i] ? 1.0 : 0.0).DefaultIfEmpty(double.NaN).Average());
    return (evaluation.Accuracy, perClass);
}

Console.WriteLine($"{train.Count} training questions, {heldOut.Count} held out; {steps} GRPO steps of 8 prompts × 8 completions per run; methods {string.Join(", ", methods)}; seeds {string.Join(", ", seeds)}.");
(double Accuracy, Dictionary<string, double> PerClass) start;
using (var policy = BuiltInPolicy.Load("cpu"))
{
    start = Evaluate(policy);
}

Console.WriteLine($"start: held-out accuracy {start.Accuracy:P1}");
var runs = new List<Run>();
foreach (int seed in seeds)
{
    foreach (string method in methods.Where(m => m != "sft"))
    {
        var options = new GrpoOptions { Steps = steps, BatchSize = 8, NumGenerations = 8, Seed = seed, Generation = new GenerationOptions { MaxNewTokens = 64 } };
        IEstimator<ITransformer> preparation;
        using (var startPolicy = BuiltInPolicy.Load("cpu"))
        {
            preparation = Preparation(method, startPolicy, seed);
        }

        var trainer = TrainingMethods.Trainer(ml, ablations.ContainsKey(method) ? TrainingMethods.Gdqa : method, new GrpoTrainerOptions { Grpo = options, Device = "cpu" }, GdqaMode.Static);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = preparation.Append(trainer).Fit(trainView);
        var history = trainer.History.ToList();
        double seconds = clock.Elapsed.TotalSeconds;
        using var trained = (VlmTransformer)model.LastTransformer;
        var (accuracy, perClass) = Evaluate(trained.Policy);
        var zero = history.Select(m => m["frac_reward_zero_std"]).ToArray();
        var zeroPerClass = AnatomyClasses.All.ToDictionary(c => c, c => history.Where(m => m.TryGet($"frac_reward_zero_std/{c}", out _)).Select(m => m[$"frac_reward_zero_std/{c}"]).DefaultIfEmpty(double.NaN).Average());
        var sq = history.Select(m => m.TryGet("curriculum/mean_s_q", out double v) ? v : double.NaN).ToArray();
        runs.Add(new Run(method, seed, accuracy, perClass, zero, zeroPerClass, sq, seconds));
        Console.WriteLine(string.Create(inv, $"{method,-18} seed {seed}: accuracy {accuracy:P1}, invalid gradient ratio mean {zero.Average():0.000}, last 10 {zero.TakeLast(10).Average():0.000}; S(q) {sq.Take(5).Average():0.000} → {sq.TakeLast(5).Average():0.000}; {seconds:0} s"));
    }

    if (methods.Contains("sft"))
    {
        // Supervised control: continued training on the reasoning traces for the mean wall time of this seed's GRPO runs.
        double budget = runs.Where(r => r.Seed == seed).Select(r => r.Seconds).DefaultIfEmpty(60).Average();
        using var policy = BuiltInPolicy.Load("cpu");
        var examples = train.Where(s => s.TargetCompletion.Length > 0).Select(s => new SupervisedExample(s.ImagePath, s.Question, s.Options, s.TargetCompletion)).ToList();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(budget));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int done = 0;
        try
        {
            SupervisedTrainer.Train(policy, examples, new SupervisedOptions { Steps = 100_000, BatchSize = 32, LearningRate = 3e-4, VisionLearningRate = 6e-4, WarmupSteps = 10, Seed = seed, ReportEvery = 1 },
                new SyncProgress(p => done = p.Step), cancel.Token);
        }
        catch (OperationCanceledException)
        {
            // The wall-time budget is spent; the policy keeps what it learnt.
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var (accuracy, perClass) = Evaluate(policy);
        runs.Add(new Run("sft", seed, accuracy, perClass, Array.Empty<double>(), new Dictionary<string, double>(), Array.Empty<double>(), seconds));
        Console.WriteLine(string.Create(inv, $"{"sft",-18} seed {seed}: accuracy {accuracy:P1} after {done} supervised steps in {seconds:0} s"));
    }
}

File.WriteAllText(Path.Combine(output, "results.json"), JsonSerializer.Serialize(new { startAccuracy = start.Accuracy, startPerClass = start.PerClass, heldOut = heldOut.Count, steps, runs }, new JsonSerializerOptions { WriteIndented = true }));
static (double Mean, double Std) Stats(IEnumerable<double> values)
{
    var v = values.Where(double.IsFinite).ToArray();
    if (v.Length == 0)
    {
        return (double.NaN, double.NaN);
    }

    double mean = v.Average();
    return (mean, v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0);
}

string PM((double Mean, double Std) s, string format) => double.IsFinite(s.Mean) ? $"{s.Mean.ToString(format, inv)} ± {s.Std.ToString(format, inv)}" : "–";
var report = new StringBuilder();
report.AppendLine(string.Create(inv, $"# Reproduction: {steps} steps of 8 × 8, seeds {string.Join(", ", seeds)}"));
report.AppendLine();
report.AppendLine(string.Create(inv, $"Start (built-in checkpoint): held-out accuracy {start.Accuracy:P1} on {heldOut.Count} questions (SE ≈ {Math.Sqrt(start.Accuracy * (1 - start.Accuracy) / heldOut.Count):P1})."));
report.AppendLine();
report.AppendLine("| Method | Held-out accuracy | Invalid gradient ratio, whole run | last 10 steps | Batch S(q), first 5 → last 5 steps | s / run |");
report.AppendLine("| --- | --- | --- | --- | --- | --- |");
foreach (var g in runs.GroupBy(r => r.Method))
{
    var acc = Stats(g.Select(r => r.Accuracy * 100));
    report.AppendLine($"| {g.Key} | {PM(acc, "0.0")}% | {PM(Stats(g.Select(r => r.ZeroStd.DefaultIfEmpty(double.NaN).Average())), "0.000")} | {PM(Stats(g.Select(r => r.ZeroStd.TakeLast(10).DefaultIfEmpty(double.NaN).Average())), "0.000")} | "
        + $"{PM(Stats(g.Select(r => r.SqCurve.Take(5).DefaultIfEmpty(double.NaN).Average())), "0.000")} → {PM(Stats(g.Select(r => r.SqCurve.TakeLast(5).DefaultIfEmpty(double.NaN).Average())), "0.000")} | {g.Average(r => r.Seconds).ToString("0", inv)} |");
}

report.AppendLine();
report.AppendLine("Held-out accuracy per answer class (mean ± std over seeds, %):");
report.AppendLine();
report.AppendLine("| Method | " + string.Join(" | ", AnatomyClasses.All) + " |");
report.AppendLine("| --- |" + string.Concat(AnatomyClasses.All.Select(_ => " --- |")));
report.AppendLine("| start | " + string.Join(" | ", AnatomyClasses.All.Select(c => (start.PerClass[c] * 100).ToString("0.0", inv))) + " |");
foreach (var g in runs.GroupBy(r => r.Method))
{
    report.AppendLine($"| {g.Key} | " + string.Join(" | ", AnatomyClasses.All.Select(c => PM(Stats(g.Select(r => r.PerClass[c] * 100)), "0.0"))) + " |");
}

report.AppendLine();
report.AppendLine("Invalid gradient ratio per answer class (mean over steps and seeds):");
report.AppendLine();
report.AppendLine("| Method | " + string.Join(" | ", AnatomyClasses.All) + " |");
report.AppendLine("| --- |" + string.Concat(AnatomyClasses.All.Select(_ => " --- |")));
foreach (var g in runs.Where(r => r.ZeroStd.Length > 0).GroupBy(r => r.Method))
{
    report.AppendLine($"| {g.Key} | " + string.Join(" | ", AnatomyClasses.All.Select(c => Stats(g.Select(r => r.ZeroStdPerClass[c])).Mean.ToString("0.000", inv))) + " |");
}

report.AppendLine();
report.AppendLine("Batch-mean S(q) every 10 steps (mean over seeds):");
report.AppendLine();
report.AppendLine("| Method | " + string.Join(" | ", Enumerable.Range(0, (steps + 9) / 10).Select(i => $"steps {(i * 10) + 1}–{Math.Min(steps, (i + 1) * 10)}")) + " |");
report.AppendLine("| --- |" + string.Concat(Enumerable.Range(0, (steps + 9) / 10).Select(_ => " --- |")));
foreach (var g in runs.Where(r => r.SqCurve.Length > 0).GroupBy(r => r.Method))
{
    report.AppendLine($"| {g.Key} | " + string.Join(" | ", Enumerable.Range(0, (steps + 9) / 10).Select(i => Stats(g.Select(r => r.SqCurve.Skip(i * 10).Take(10).Average())).Mean.ToString("0.000", inv))) + " |");
}

report.AppendLine();
report.AppendLine("Per run (held-out accuracy): " + string.Join("; ", runs.Select(r => string.Create(inv, $"{r.Method} seed {r.Seed} {r.Accuracy:P1}"))) + ".");
File.WriteAllText(Path.Combine(output, "report.md"), report.ToString());
Console.WriteLine(report.ToString());

internal sealed record Run(string Method, int Seed, double Accuracy, Dictionary<string, double> PerClass, double[] ZeroStd, Dictionary<string, double> ZeroStdPerClass, double[] SqCurve, double Seconds);

internal sealed class SyncProgress : IProgress<SupervisedProgress>
{
    private readonly Action<SupervisedProgress> _report;

    public SyncProgress(Action<SupervisedProgress> report) => _report = report;

    public void Report(SupervisedProgress value) => _report(value);
}
