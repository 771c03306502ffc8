// Quick start: the IDataView chain from image files to answers, trained with Anatomy-R1 (GRPO + ASCL + GDQA).
//
//   load questions ─► LoadImages ─► ResizeImages ─► ExtractPixels ─► AnatomicalSimilarity (S(q), stage)
//                  ─► GroupDiversityAugment (question forms) ─► GRPO with the curriculum (from the built-in warm start)
//                  ─► predictions ─► Evaluate, save, reload
//
// Run: dotnet run --project samples/GrpoQuickStart -- [steps] [output folder]
using System.Globalization;
using AnatomyR1;
using AnatomyR1.Data;
using AnatomyR1.Curriculum;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Microsoft.ML.Data;

int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
string output = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "anatomyr1-quickstart");
Directory.CreateDirectory(output);

// 1. Data: the built-in synthetic surgical scenes (Anatomy-R1 JSON + PNG images), 600 questions.
string data = Path.Combine(output, "data");
SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 600, Seed = 42 }, overwrite: true);

var mlContext = new MLContext(seed: 0);
mlContext.Log += (_, e) =>
{
    if (e.Source == "AnatomyR1.Grpo" && e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info)
    {
        Console.WriteLine(e.RawMessage);
    }
};

IDataView train = mlContext.Data.LoadAnatomyR1Json(Path.Combine(data, "train.json"));
IDataView test = mlContext.Data.LoadAnatomyR1Json(Path.Combine(data, "test.json"));

// 2. The pipeline: ML.NET's image transforms produce the pixels; S(q) from the starting policy's own token embeddings
//    orders the curriculum and picks the difficult questions (S(q) at or above the median), which get 4 question forms
//    each; GRPO draws the easiest questions first and spreads each difficult question's group over its forms.
using var start = BuiltInPolicy.Load("cpu");
var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: VqaColumns.ImagePath)
    .Append(mlContext.Transforms.ResizeImages("Image", imageWidth: 64, imageHeight: 64))
    .Append(mlContext.Transforms.ExtractPixels("Pixels", "Image"))
    .Append(mlContext.AnatomyR1().AnatomicalSimilarity(start))
    .Append(mlContext.AnatomyR1().GroupDiversityAugment(variantCount: 4, quantile: 0.5))
    .Append(mlContext.AnatomyR1().Grpo(new GrpoTrainerOptions
    {
        Grpo = new GrpoOptions
        {
            Steps = steps, BatchSize = 4, NumGenerations = 8, LearningRate = 3e-5, VisionLearningRate = 3e-5, Seed = 1,
            Curriculum = new CurriculumOptions { Pacing = CurriculumPacing.Linear, StartFraction = 0.2 },
            Gdqa = new GdqaTrainingOptions { Mode = GdqaMode.Static },
        },
        ImageInput = VlmImageInput.FromPixels("Pixels"),
        RunFolder = Path.Combine(output, "run"),
        Device = "cpu",
    }));

Console.WriteLine($"Training GRPO for {steps} steps (metrics: {Path.Combine(output, "run", GrpoSession.MetricsFile)}) …");
var model = pipeline.Fit(train);

// 3. Predict and evaluate on the held-out split.
IDataView predictions = model.Transform(test);
var metrics = mlContext.AnatomyR1().Evaluate(predictions);
Console.WriteLine($"held-out: {metrics.Overall.Count} questions, accuracy {metrics.Overall.Accuracy:P1}, format {metrics.FormatCompliance:P1}");

// 4. Save, reload and check the reloaded model answers identically.
string saved = Path.Combine(output, "model");
VlmModel.Save(mlContext, model, train.Schema, saved);
var reloaded = VlmModel.Load(mlContext, saved, out _, device: "cpu");
var again = reloaded.Transform(test);
bool same = predictions.GetColumn<string>(VqaColumns.Completion).SequenceEqual(again.GetColumn<string>(VqaColumns.Completion));
Console.WriteLine($"saved to {saved}; reloaded model gives {(same ? "identical" : "DIFFERENT")} completions");
((IDisposable)model.LastTransformer).Dispose();
((IDisposable)reloaded.Last()).Dispose();
return same ? 0 : 1;
