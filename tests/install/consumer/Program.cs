// What a user's first program does with the installed packages: synthetic records, S(q), question forms, a short GRPO
// run with the curriculum, predictions and evaluation, save and reload, and the trained policy as a chat client.
// Exits 0 only when every check holds; prints one "check:" line per check.
using System.IO.Compression;
using System.Reflection.Metadata;
using AnatomyR1;
using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Extensions.AI;
using AnatomyR1.Prompts;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using Microsoft.ML.Data;

int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"check: {(ok ? "ok  " : "FAIL")} {what}");
    failures += ok ? 0 : 1;
}

if (args.Length == 2 && args[0] == "symbols")
{
    // Every .snupkg holds a portable PDB with the sources embedded (readable without the repository or a network).
    foreach (string snupkg in Directory.GetFiles(args[1], "*.snupkg"))
    {
        using var zip = ZipFile.OpenRead(snupkg);
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)))
        {
            using var stream = new MemoryStream();
            using (var s = entry.Open())
            {
                s.CopyTo(stream);
            }

            stream.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
            var reader = provider.GetMetadataReader();
            var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
            int documents = reader.Documents.Count;
            int embedded = reader.Documents.Count(d => reader.GetCustomDebugInformation(d)
                .Any(c => reader.GetGuid(reader.GetCustomDebugInformation(c).Kind) == embeddedSource));
            Check(documents > 0 && embedded == documents, $"{Path.GetFileName(snupkg)}: {entry.FullName} embeds {embedded} of {documents} source files");
        }
    }

    return failures == 0 ? 0 : 1;
}

string work = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "anatomyr1-consumer");
string data = Path.Combine(work, "data");
SyntheticDatasetWriter.Write(data, new SyntheticDatasetOptions { Count = 120, Seed = 3 }, overwrite: true);

var ml = new MLContext(seed: 0);
IDataView train = ml.Data.LoadAnatomyR1Json(Path.Combine(data, "train.json"));
IDataView test = ml.Data.LoadAnatomyR1Json(Path.Combine(data, "test.json"));

// The built-in checkpoint comes with the AnatomyR1.TorchSharp package (copied beside this program).
using var start = BuiltInPolicy.Load("cpu");
Check(BuiltInPolicy.Folder().StartsWith(AppContext.BaseDirectory, StringComparison.Ordinal), $"built-in checkpoint found beside the application ({start.TrainableParameterCount():N0} parameters)");

var pipeline = ml.AnatomyR1().AnatomicalSimilarity(start)
    .Append(ml.AnatomyR1().GroupDiversityAugment(variantCount: 3, quantile: 0.5))
    .Append(ml.AnatomyR1().Grpo(new GrpoTrainerOptions
    {
        Grpo = new GrpoOptions
        {
            Steps = 3, BatchSize = 2, NumGenerations = 4, Seed = 1,
            Curriculum = new CurriculumOptions(), Gdqa = new GdqaTrainingOptions { Mode = GdqaMode.Static },
        },
        RunFolder = Path.Combine(work, "run"),
        Device = "cpu",
    }));
var model = pipeline.Fit(train);

var scored = model.Take(2).Aggregate(train, (view, t) => t.Transform(view));
var similarity = scored.GetColumn<float>(VqaColumns.OptionSimilarity).ToList();
var status = scored.GetColumn<string>(GroupDiversityColumns.AugmentationStatus).ToList();
Check(similarity.Count > 0 && similarity.All(float.IsFinite), $"S(q) scored for {similarity.Count} training questions (mean {similarity.Average():F3})");
Check(status.Any(s => s == nameof(AugmentationStatus.Augmented)), $"question forms built for {status.Count(s => s == nameof(AugmentationStatus.Augmented))} difficult questions");
int metricLines = File.ReadAllLines(Path.Combine(work, "run", GrpoSession.MetricsFile)).Length;
Check(metricLines == 3, $"GRPO logged {metricLines} steps");

var predictions = model.Transform(test);
var metrics = ml.AnatomyR1().Evaluate(predictions, AnswerExtractionStrategy.TagLetter);
Check(metrics.Overall.Count > 0 && metrics.FormatCompliance > 0.5, $"predicted {metrics.Overall.Count} held-out questions: accuracy {metrics.Overall.Accuracy:P1}, format {metrics.FormatCompliance:P1}");

string saved = Path.Combine(work, "model");
VlmModel.Save(ml, model, train.Schema, saved);
var reloaded = VlmModel.Load(ml, saved, out _, device: "cpu");
var completions = predictions.GetColumn<string>(VqaColumns.Completion).ToList();
Check(completions.SequenceEqual(reloaded.Transform(test).GetColumn<string>(VqaColumns.Completion)), "the reloaded model answers identically");

// The trained policy behind Microsoft.Extensions.AI, streamed.
var first = VqaDataLoader.Load(Path.Combine(data, "test.json")).Samples[0];
using var chat = model.LastTransformer.AsChatClient();
var message = VqaChatRequest.Create(File.ReadAllBytes(first.ImagePath), "image/png", first.Question, first.Options);
int pieces = 0;
string streamed = string.Empty;
await foreach (var update in chat.GetStreamingResponseAsync(new[] { message }))
{
    pieces += update.Text.Length > 0 ? 1 : 0;
    streamed += update.Text;
}

Check(streamed == completions[0] && pieces > 1, $"chat client streamed the model's answer in {pieces} pieces");

((IDisposable)model.LastTransformer).Dispose();
((IDisposable)reloaded.Last()).Dispose();
Console.WriteLine(failures == 0 ? "consumer ok" : $"consumer: {failures} checks failed");
return failures == 0 ? 0 : 1;
