// Scenario: load anatomy VQA records into an IDataView, build R1 prompts, answer with a class-prior baseline
// (pick the option whose class was most frequent in the training split), score the completions with the
// GRPO rewards and evaluate them. The baseline measures how much accuracy answer priors alone give.
//
//   dotnet run --project samples/ClassPriorBaseline -- [data.json]
using AnatomyR1;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using Microsoft.ML;
using Microsoft.ML.Data;

string path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "anatomy-r1-sample.json");
var ml = new MLContext(seed: 42);

// 1. Load (strict: a bad record stops here with file, record, line and field in the message).
IDataView data = ml.Data.LoadVqa(path);
var split = ml.Data.TrainTestSplit(data, testFraction: 0.3, seed: 42);
var train = ml.Data.CreateEnumerable<VqaSample>(split.TrainSet, reuseRowObject: false).ToList();
var test = ml.Data.CreateEnumerable<VqaSample>(split.TestSet, reuseRowObject: false).ToList();

// 2. The prior: how often each class is the answer in the training rows.
var prior = train.GroupBy(s => s.AnswerClass).ToDictionary(g => g.Key, g => g.Count());

// 3. Prompts and baseline completions.
var prompts = new R1PromptBuilder();
Console.WriteLine("First prompt:\n" + prompts.Build(test[0]) + "\n");
var completions = test.Select(s =>
{
    int pick = Enumerable.Range(0, s.Options.Length).MaxBy(i => prior.GetValueOrDefault(s.Options[i]));
    return $"<think>{s.Options[pick]} is the most frequent answer among these options.</think> <answer>{(char)('A' + pick)}</answer>";
}).ToList();

// 4. The GRPO rewards of these completions.
var rewards = WeightedRewards.Default(AnswerExtractionStrategy.TagLetter)
    .Score(new RewardBatch(completions, test.Select(s => new RewardRow(s)).ToList()));
Console.WriteLine($"Mean total reward (accuracy + format): {rewards.Total.Average():0.000}");

// 5. Evaluate: the predictions as an IDataView with a Completion column.
var rows = test.Zip(completions, (s, c) => new PredictionRow
{
    Options = s.Options, CorrectIndex = s.CorrectIndex, Answer = s.Answer, AnswerClass = s.AnswerClass,
    QuestionFamily = s.QuestionFamily, Completion = c,
});
var result = ml.AnatomyR1().Evaluate(ml.Data.LoadFromEnumerable(rows), AnswerExtractionStrategy.TagLetter);
Console.WriteLine($"Class-prior accuracy on {result.Overall.Count} held-out questions: {result.Overall.Accuracy:0.000} ± {result.Overall.StandardError:0.000}");
foreach (var (family, accuracy) in result.ByFamily)
{
    Console.WriteLine($"  {family,-12} {accuracy.Accuracy:0.000} (n = {accuracy.Count})");
}

/// <summary>A question with a model completion, in the columns the evaluator reads.</summary>
internal sealed class PredictionRow
{
    public string[] Options { get; set; } = Array.Empty<string>();

    public int CorrectIndex { get; set; }

    public string Answer { get; set; } = string.Empty;

    public string AnswerClass { get; set; } = string.Empty;

    public string QuestionFamily { get; set; } = string.Empty;

    public string Completion { get; set; } = string.Empty;
}
