// Bring your own data in the OmniMedVQA format: load a QA_information JSON file with its Images/ folder, check every
// record and image (a bad record is reported by file, record, line and field, and skipped only in lenient mode),
// evaluate the built-in policy per modality and question type, fine-tune it briefly with GRPO and evaluate again.
//
// Run: dotnet run --project samples/OmniMedVqaData -- [QA json file] [--steps N]
//      (without a file it writes a small OmniMedVQA-layout folder from the synthetic scenes, with one broken record,
//      so that the program runs anywhere; point it at your own OmniMedVQA-format file to use your data)
using System.Globalization;
using System.Text.Json;
using AnatomyR1;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;

int stepsAt = Array.IndexOf(args, "--steps");
int steps = stepsAt >= 0 ? int.Parse(args[stepsAt + 1], CultureInfo.InvariantCulture) : 10;
var positional = args.Where((_, i) => stepsAt < 0 || (i != stepsAt && i != stepsAt + 1)).ToList();
string file = positional.Count > 0 ? positional[0] : WriteExampleFolder(Path.Combine(Path.GetTempPath(), "anatomyr1-omnimedvqa"));

// 1. Load leniently with image checks: every skipped record is in the report, nothing is dropped silently.
//    (Strict mode, the default, throws VqaDataException at the first bad record instead.)
var ml = new MLContext(seed: 0);
var loaderOptions = new VqaLoaderOptions { Format = VqaFormat.OmniMedVqaJson, CheckImages = true, Strict = false };
IDataView all = ml.Data.LoadVqa(file, loaderOptions, out VqaLoadReport report);
Console.WriteLine($"{report.Source}: {report.InputCount} records, {report.LoadedCount} loaded, {report.SkippedCount} skipped");
foreach (var issue in report.Issues)
{
    Console.WriteLine($"  skipped: {issue}");
}

// 2. Split, then answer with the built-in policy (greedy) and evaluate per modality and question type.
var split = ml.Data.TrainTestSplit(all, testFraction: 0.3, seed: 1);
using var builtIn = new VlmTransformer(BuiltInPolicy.Load("cpu"));
Report("built-in checkpoint", ml.AnatomyR1().Evaluate(builtIn.Transform(split.TestSet), AnswerExtractionStrategy.TagLetter));

// 3. A short GRPO fine-tune on the training part (image paths are read and resized by the trainer itself).
var trainer = ml.AnatomyR1().Grpo(new GrpoTrainerOptions
{
    Grpo = new GrpoOptions { Steps = steps, BatchSize = 4, NumGenerations = 8, LearningRate = 3e-5, Seed = 1 },
    RunFolder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "grpo-run"),
    Device = "cpu",
});
using var tuned = trainer.Fit(split.TrainSet);
Report($"after {steps} GRPO steps", ml.AnatomyR1().Evaluate(tuned.Transform(split.TestSet), AnswerExtractionStrategy.TagLetter));
return 0;

static void Report(string what, AnatomyR1.Evaluation.VqaEvaluationResult metrics)
{
    Console.WriteLine($"{what}: accuracy {metrics.Overall.Accuracy:P1} ± {metrics.Overall.StandardError:P1} on {metrics.Overall.Count} questions, format {metrics.FormatCompliance:P1}");
    foreach (var (modality, group) in metrics.ByModality)
    {
        Console.WriteLine($"  modality {modality}: {group.Accuracy:P1} ({group.Count})");
    }

    foreach (var (type, group) in metrics.ByQuestionType)
    {
        Console.WriteLine($"  question type {type}: {group.Accuracy:P1} ({group.Count})");
    }
}

// The OmniMedVQA layout: <root>/QA_information/Open-access/<dataset>.json with image paths relative to <root>
// (Images/<dataset>/…). The records are the synthetic scenes' questions; the last one names an answer that is not
// among its options, to show how a bad record is reported.
static string WriteExampleFolder(string root)
{
    string scenes = Path.Combine(root, "scenes");
    SyntheticDatasetWriter.Write(scenes, new SyntheticDatasetOptions { Count = 120, Seed = 21 }, overwrite: true);
    var samples = VqaDataLoader.Load(Path.Combine(scenes, "train.json")).Samples;
    string images = Path.Combine(root, "Images", "SurgicalScenes");
    Directory.CreateDirectory(images);
    var records = new List<Dictionary<string, string>>();
    foreach (var s in samples)
    {
        string name = Path.GetFileName(s.ImagePath);
        File.Copy(s.ImagePath, Path.Combine(images, name), overwrite: true);
        var record = new Dictionary<string, string>
        {
            ["question_id"] = "surgical_" + records.Count.ToString(CultureInfo.InvariantCulture),
            ["question"] = s.Question,
            ["gt_answer"] = s.Options[s.CorrectIndex],
            ["image_path"] = $"Images/SurgicalScenes/{name}",
            ["modality_type"] = "Endoscopy",
            ["question_type"] = "Anatomy Identification",
            ["dataset"] = "SurgicalScenes",
        };
        for (int k = 0; k < s.Options.Length; k++)
        {
            record["option_" + (char)('A' + k)] = s.Options[k];
        }

        records.Add(record);
    }

    records[^1]["gt_answer"] = "Spleen";
    string qa = Path.Combine(root, "QA_information", "Open-access");
    Directory.CreateDirectory(qa);
    string path = Path.Combine(qa, "SurgicalScenes.json");
    File.WriteAllText(path, JsonSerializer.Serialize(records, new JsonSerializerOptions { WriteIndented = true }));
    return path;
}
