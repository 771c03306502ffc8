// GDQA versus plain GRPO at equal compute (same steps, B and G), on the built-in synthetic scenes, from the built-in
// warm-started checkpoint. For every seed both methods run; the program logs the share of all-equal-reward groups
// (frac_reward_zero_std) overall and per answer class at every step, evaluates greedy held-out accuracy at the end,
// and writes results.json and report.md.
//
// Run: dotnet run -c Release --project samples/GdqaExperiment -- [steps] [seeds, e.g. 1,2,3] [output folder] [methods]
// Methods (comma-separated, default grpo,grpo+gdqa): grpo, grpo+gdqa (all generators), gdqa-no-permute (scene-graph
// references and rephrasings, original option order), gdqa-permute-only (option orders only).
using System.Globalization;
using System.Text;
using System.Text.Json;
using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training.Grpo;

var inv = CultureInfo.InvariantCulture;
int steps = args.Length > 0 ? int.Parse(args[0], inv) : 60;
int[] seeds = (args.Length > 1 ? args[1] : "1,2,3").Split(',').Select(s => int.Parse(s, inv)).ToArray();
string output = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "anatomyr1-gdqa-experiment");
string[] methods = (args.Length > 3 ? args[3] : "grpo,grpo+gdqa").Split(',');
Directory.CreateDirectory(output);
TorchRuntime.EnsureThreads();

// Data: 2,000 fresh synthetic questions (generator seed 11): 1,600 to train on, 400 held out (val + test).
string data = Path.Combine(output, "data");
SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 2000, Seed = 11 }, overwrite: true);
var train = VqaDataLoader.Load(Path.Combine(data, "train.json")).Samples;
var heldOut = VqaDataLoader.Load(Path.Combine(data, "val.json")).Samples.Concat(VqaDataLoader.Load(Path.Combine(data, "test.json")).Samples).ToList();

// GDQA: every training question gets K = 4 forms (original + 3), scene-graph references first, each with its own option order.
List<GrpoExample> Augmented(GroupDiversityOptions options)
{
    var augmenter = new QuestionAugmenter(options);
    return train.Select(s => new GrpoExample(s) { Variants = augmenter.Augment(s).Variants.Select(v => v.ToSample(s)).ToList() }).ToList();
}

var examplesOf = new Dictionary<string, List<GrpoExample>>
{
    ["grpo"] = train.Select(s => new GrpoExample(s)).ToList(),
    ["grpo+gdqa"] = Augmented(new GroupDiversityOptions { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7 }),
    ["gdqa-no-permute"] = Augmented(new GroupDiversityOptions { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7, PermuteOptions = false }),
    ["gdqa-permute-only"] = Augmented(new GroupDiversityOptions { VariantCount = 4, Difficulty = DifficultySelection.All, Seed = 7, SceneGraphReferences = false, Rephrase = false, RelationSynonyms = false }),
};
var augmented = examplesOf["grpo+gdqa"];
Console.WriteLine($"{train.Count} training questions ({augmented.Count(e => e.Variants!.Count > 1)} with variants), {heldOut.Count} held out; {steps} steps of 8 prompts × 8 completions per run.");

double startAccuracy;
using (var start = BuiltInPolicy.Load("cpu"))
{
    startAccuracy = PolicyEvaluation.Run(start, heldOut).Accuracy;
}

Console.WriteLine($"start: held-out accuracy {startAccuracy:P1}");
var runs = new List<Run>();
foreach (int seed in seeds)
{
    foreach (string method in methods)
    {
        var options = new GrpoOptions { Steps = steps, BatchSize = 8, NumGenerations = 8, MaxNewTokens = 64, Seed = seed, Gdqa = method == "grpo" ? null : new GdqaTrainingOptions() };
        using var policy = BuiltInPolicy.Load("cpu");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        List<GrpoStepMetrics> history;
        using (var trainer = new GrpoTrainer(policy, examplesOf[method], options))
        {
            history = trainer.Train().ToList();
        }

        double seconds = clock.Elapsed.TotalSeconds;
        double accuracy = PolicyEvaluation.Run(policy, heldOut).Accuracy;
        var zero = history.Select(m => m["frac_reward_zero_std"]).ToArray();
        var perClass = AnatomyClasses.All.ToDictionary(c => c, c => history.Where(m => m.TryGet($"frac_reward_zero_std/{c}", out _)).Select(m => m[$"frac_reward_zero_std/{c}"]).DefaultIfEmpty(double.NaN).Average());
        var run = new Run(method, seed, accuracy, zero, perClass, history.Select(m => m["reward"]).ToArray(), seconds);
        runs.Add(run);
        Console.WriteLine(string.Create(inv, $"{method,-10} seed {seed}: accuracy {accuracy:P1}, frac_reward_zero_std first 10 {zero.Take(10).Average():0.000}, last 10 {zero.TakeLast(10).Average():0.000}, mean {zero.Average():0.000}; {seconds:0} s"));
    }
}

File.WriteAllText(Path.Combine(output, "results.json"), JsonSerializer.Serialize(new { startAccuracy, heldOut = heldOut.Count, steps, runs }, new JsonSerializerOptions { WriteIndented = true }));
var report = new StringBuilder();
report.AppendLine(string.Create(inv, $"# GRPO vs GRPO+GDQA, {steps} steps of 8 × 8, seeds {string.Join(", ", seeds)}"));
report.AppendLine();
report.AppendLine(string.Create(inv, $"Start (built-in checkpoint): held-out accuracy {startAccuracy:P1} on {heldOut.Count} questions (SE ≈ {Math.Sqrt(startAccuracy * (1 - startAccuracy) / heldOut.Count):P1})."));
report.AppendLine();
report.AppendLine("| Method | Held-out accuracy (mean ± std over seeds) | frac_reward_zero_std, first 10 steps | last 10 steps | whole run | seconds per run |");
report.AppendLine("| --- | --- | --- | --- | --- | --- |");
foreach (var group in runs.GroupBy(r => r.Method))
{
    static (double Mean, double Std) Stats(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return (mean, v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0);
    }

    var acc = Stats(group.Select(r => r.Accuracy));
    var first = Stats(group.Select(r => r.ZeroStd.Take(10).Average()));
    var last = Stats(group.Select(r => r.ZeroStd.TakeLast(10).Average()));
    var all = Stats(group.Select(r => r.ZeroStd.Average()));
    report.AppendLine(string.Create(inv, $"| {group.Key} | {acc.Mean:P1} ± {acc.Std:P1} | {first.Mean:0.000} ± {first.Std:0.000} | {last.Mean:0.000} ± {last.Std:0.000} | {all.Mean:0.000} ± {all.Std:0.000} | {group.Average(r => r.Seconds):0} |"));
}

report.AppendLine();
report.AppendLine("frac_reward_zero_std per answer class (mean over steps and seeds):");
report.AppendLine();
report.AppendLine("| Method | " + string.Join(" | ", AnatomyClasses.All) + " |");
report.AppendLine("| --- |" + string.Concat(AnatomyClasses.All.Select(_ => " --- |")));
foreach (var group in runs.GroupBy(r => r.Method))
{
    report.AppendLine($"| {group.Key} | " + string.Join(" | ", AnatomyClasses.All.Select(c => group.Select(r => r.PerClass[c]).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average().ToString("0.000", inv))) + " |");
}

report.AppendLine();
report.AppendLine("Per run: " + string.Join("; ", runs.Select(r => string.Create(inv, $"{r.Method} seed {r.Seed} {r.Accuracy:P1}"))) + ".");
File.WriteAllText(Path.Combine(output, "report.md"), report.ToString());
Console.WriteLine(report.ToString());

internal sealed record Run(string Method, int Seed, double Accuracy, double[] ZeroStd, Dictionary<string, double> PerClass, double[] Reward, double Seconds);
