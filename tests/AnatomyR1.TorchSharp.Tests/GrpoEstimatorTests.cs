using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The GRPO trainer estimator in an ML.NET pipeline from image files to predictions, saved and reloaded.</summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class GrpoEstimatorTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public GrpoEstimatorTests(SmallSyntheticData data) => _data = data;

    [Fact]
    public void PixelPipelineTrainsPredictsLogsAndRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var logged = GrpoLog.Capture(ml);
        var train = ml.Data.LoadFromEnumerable(_data.Train);
        var test = ml.Data.LoadFromEnumerable(_data.Test.Take(6));
        var seen = new List<GrpoStepMetrics>();
        var estimator = ml.AnatomyR1().Grpo(new GrpoTrainerOptions
        {
            Grpo = new GrpoOptions { Steps = 2, BatchSize = 2, NumGenerations = 4, Seed = 3, Generation = new GenerationOptions { MaxNewTokens = 48 } },
            ImageInput = VlmImageInput.FromPixels("Pixels"),
            Device = "cpu",
            Progress = new Progress(seen.Add),
        });
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: VqaColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(estimator);
        var model = pipeline.Fit(train);
        Assert.Equal(2, seen.Count);
        Assert.Equal(2, estimator.History.Count);
        Assert.Contains(logged, l => l.StartsWith("step 2:", StringComparison.Ordinal));

        var predicted = model.Transform(test);
        var completions = predicted.GetColumn<string>(VqaColumns.Completion).ToArray();
        Assert.Equal(6, completions.Length);
        Assert.All(completions, c => Assert.Contains("<answer>", c));
        Assert.Equal(6, ml.AnatomyR1().Evaluate(predicted).Overall.Count);

        // Pixels from ExtractPixels (0–255, scaled by 1/255) and the image files give the same answers.
        var byPath = new VlmTransformer(model.LastTransformer.Policy).Transform(test).GetColumn<string>(VqaColumns.Completion).ToArray();
        Assert.Equal(completions, byPath);

        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-grpo-model-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            VlmModel.Save(ml, model, train.Schema, folder);
            var loaded = VlmModel.Load(ml, folder, out _, "cpu");
            Assert.Equal("Pixels", ((VlmTransformer)loaded.Last()).ImageInput.PixelsColumn);
            Assert.Equal(completions, loaded.Transform(test).GetColumn<string>(VqaColumns.Completion).ToArray());
            ((IDisposable)loaded.Last()).Dispose();
        }
        finally
        {
            model.LastTransformer.Dispose();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void MissingAnswersAndMalformedPixelVectorsAreClearErrorsButAnyImageSizeTrains()
    {
        var ml = new MLContext(seed: 1);
        var noAnswer = ml.Data.LoadFromEnumerable(_data.Train.Select(s => new { s.ImagePath, s.Question, s.Options }));
        var estimator = ml.AnatomyR1().Grpo(steps: 1, batchSize: 2, numGenerations: 2, device: "cpu");
        var ex = Assert.Throws<ArgumentException>(() => estimator.Fit(noAnswer));
        Assert.Contains("CorrectIndex", ex.Message);

        var small = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: VqaColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages("Image", 32, 32))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Fit(ml.Data.LoadFromEnumerable(_data.Train)).Transform(ml.Data.LoadFromEnumerable(_data.Train));
        // 32×32 pixels (ExtractPixels declares [3, 32, 32]) are resized by the policy's image processor.
        var otherSize = ml.AnatomyR1().Grpo(steps: 1, batchSize: 2, numGenerations: 2, pixelsColumn: "Pixels", device: "cpu");
        using (var trained = otherSize.Fit(small))
        {
            Assert.Single(otherSize.History);
        }

        // A vector that is no RGB image of any size is rejected naming the row and the column.
        var malformed = ml.Data.LoadFromEnumerable(_data.Train.Take(3).Select(s => new PixelRow { Question = s.Question, Options = s.Options, CorrectIndex = s.CorrectIndex, Pixels = new float[100] }));
        var bad = Assert.Throws<InvalidDataException>(() => otherSize.Fit(malformed));
        Assert.Contains("Row 0", bad.Message);
        Assert.Contains("column 'Pixels'", bad.Message);
        Assert.Contains("100 values", bad.Message);
        Assert.Throws<ArgumentException>(() => ml.AnatomyR1().Grpo(numGenerations: 1));
    }

    private sealed class PixelRow
    {
        public string Question { get; set; } = string.Empty;

        public string[] Options { get; set; } = Array.Empty<string>();

        public int CorrectIndex { get; set; }

        [Microsoft.ML.Data.VectorType(100)]
        public float[] Pixels { get; set; } = Array.Empty<float>();
    }

    private sealed class Progress : IProgress<GrpoStepMetrics>
    {
        private readonly Action<GrpoStepMetrics> _report;

        public Progress(Action<GrpoStepMetrics> report) => _report = report;

        public void Report(GrpoStepMetrics value) => _report(value);
    }
}
