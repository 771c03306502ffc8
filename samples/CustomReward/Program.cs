// Custom reward functions in GRPO: a class implementing IRewardFunction (partial credit for anatomically similar
// wrong answers) and a one-line delegate (a small bonus for short reasoning), weighted together with the built-in
// format reward. Each function's mean and spread are logged as rewards/<name>/mean and rewards/<name>/std.
//
// Run: dotnet run --project samples/CustomReward -- [steps]
using System.Globalization;
using AnatomyR1;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Training.Grpo;
using CustomReward;
using Microsoft.ML;

int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 12;
string work = Path.Combine(Path.GetTempPath(), "anatomyr1-custom-reward");
string data = Path.Combine(work, "data");
SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 300, Seed = 11 }, overwrite: true);

// 1. The rewards, checked by hand on three completions before any training.
var partial = new AnatomicalPartialCredit(ClassSimilarityTable.SyntheticVisual(), scale: 0.5f);
// A well-formed answer in at most 160 characters earns a small bonus; anything else earns nothing.
var brevity = DelegateRewardFunction.PerCompletion("brevity", (completion, row) => FormatReward.Matches(completion) && completion.Length <= 160 ? 0.1f : 0f);
var rewards = new WeightedRewards()
    .Add(partial, 1f)                                            // replaces plain accuracy
    .Add(new FormatReward(), 0.5f)                               // <think> … </think> <answer>X</answer>
    .Add(brevity, 1f);

var sample = VqaDataLoader.Load(Path.Combine(data, "train.json")).Samples[0];
var row = new RewardRow(sample);
string Answer(int k) => $"<think>the anatomy is {sample.Options[k].ToLowerInvariant()}.</think> <answer>{(char)('A' + k)}</answer>";
int wrong = Enumerable.Range(0, sample.Options.Length).First(k => k != sample.CorrectIndex);
var check = rewards.Score(new RewardBatch(new[] { Answer(sample.CorrectIndex), Answer(wrong), "no answer" }, new[] { row, row, row }));
Console.WriteLine($"question: {sample.Question} (answer {sample.Options[sample.CorrectIndex]})");
Console.WriteLine($"  correct            → total {check.Total[0]:F3}, partial_credit {check.PerFunction["partial_credit"][0]:F3}");
Console.WriteLine($"  {sample.Options[wrong],-18} → total {check.Total[1]:F3}, partial_credit {check.PerFunction["partial_credit"][1]:F3}");
Console.WriteLine($"  no answer          → total {check.Total[2]:F3}, partial_credit {check.PerFunction["partial_credit"][2]:F3}");

// 2. GRPO with these rewards, from the built-in warm start.
var ml = new MLContext(seed: 0);
IDataView train = ml.Data.LoadAnatomyR1Json(Path.Combine(data, "train.json"));
IDataView test = ml.Data.LoadAnatomyR1Json(Path.Combine(data, "test.json"));
var trainer = ml.AnatomyR1().Grpo(new GrpoTrainerOptions
{
    Grpo = new GrpoOptions { Steps = steps, BatchSize = 4, NumGenerations = 8, LearningRate = 3e-5, Seed = 2, Rewards = rewards },
    RunFolder = Path.Combine(work, "run"),
    Device = "cpu",
});
using var model = trainer.Fit(train);
var first = trainer.History[0];
var last = trainer.History[^1];
foreach (string name in new[] { "partial_credit", "format", "brevity" })
{
    Console.WriteLine($"rewards/{name}/mean: step 1 {first[$"rewards/{name}/mean"]:F3}, step {last.Step} {last[$"rewards/{name}/mean"]:F3}");
}

var metrics = ml.AnatomyR1().Evaluate(model.Transform(test), AnswerExtractionStrategy.TagLetter);
Console.WriteLine($"held-out accuracy {metrics.Overall.Accuracy:P1} on {metrics.Overall.Count} questions, format {metrics.FormatCompliance:P1}");
return 0;
