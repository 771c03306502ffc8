using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>A small synthetic dataset on disk for the training tests.</summary>
public sealed class SmallSyntheticData : IDisposable
{
    public SmallSyntheticData()
    {
        Folder = Path.Combine(Path.GetTempPath(), "anatomyr1-ws-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(Folder, new SyntheticDatasetOptions { Count = 240, Seed = 21 });
        Train = VqaDataLoader.Load(Path.Combine(Folder, "train.json")).Samples;
        Test = VqaDataLoader.Load(Path.Combine(Folder, "test.json")).Samples;
    }

    public string Folder { get; }

    public IReadOnlyList<VqaSample> Train { get; }

    public IReadOnlyList<VqaSample> Test { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WarmStartTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public WarmStartTests(SmallSyntheticData data) => _data = data;

    [Fact]
    public void AnUnusableImageStopsTheWarmStartBeforeStepOneNamingTheExample()
    {
        string garbage = Path.Combine(_data.Folder, "garbage-" + Guid.NewGuid().ToString("N")[..6] + ".png");
        File.WriteAllText(garbage, "not an image");
        var good = _data.Train[0];
        var examples = new List<AnatomyR1.TorchSharp.Training.SupervisedExample>
        {
            new(good.ImagePath, good.Question, good.Options, "<answer>A</answer>"),
            new(garbage, good.Question, good.Options, "<answer>A</answer>"),
        };
        using var policy = AnatomyR1.TorchSharp.Models.Tiny.TinyVlmPolicy.Load(AnatomyR1.TorchSharp.Policy.BuiltInPolicy.Folder(), "cpu");
        var steps = new List<AnatomyR1.TorchSharp.Training.SupervisedProgress>();
        var error = Assert.Throws<InvalidDataException>(() => AnatomyR1.TorchSharp.Training.SupervisedTrainer.Train(
            policy, examples, new AnatomyR1.TorchSharp.Training.SupervisedOptions { Steps = 5, BatchSize = 2, ReportEvery = 1 }, new Progress<AnatomyR1.TorchSharp.Training.SupervisedProgress>(steps.Add)));
        Assert.Contains("Supervised example 1", error.Message);
        Assert.Contains(Path.GetFileName(garbage), error.Message);
        Assert.Empty(steps);
    }

    [Fact]
    public void ShortWarmStartLowersTheLossAndTeachesTheFormat()
    {
        using var policy = TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 3);
        var before = PolicyEvaluation.Run(policy, _data.Test.Take(16).ToList(), maxNewTokens: 48);
        var examples = _data.Train.Select(s => new SupervisedExample(s.ImagePath, s.Question, s.Options, s.TargetCompletion)).ToList();
        var history = SupervisedTrainer.Train(policy, examples, new SupervisedOptions { Steps = 160, BatchSize = 16, Seed = 1, ReportEvery = 10, WarmupSteps = 5 });
        var after = PolicyEvaluation.Run(policy, _data.Test.Take(16).ToList(), maxNewTokens: 48);

        Assert.True(history[^1].Loss < history[0].Loss * 0.3, $"loss {history[0].Loss:0.000} → {history[^1].Loss:0.000}");
        Assert.Equal(0.0, before.FormatCompliance);
        Assert.True(after.FormatCompliance >= 0.5, $"format compliance after 160 steps: {after.FormatCompliance:P0}; e.g. '{after.Completions[0]}'");
        Assert.All(policy.TrainableParameters(), p => Assert.False(p.grad is not null && p.grad.isnan().any().item<bool>()));
    }

    [Fact]
    public void TrainerEstimatorPredictsAndSavedPipelineGivesIdenticalPredictions()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(_data.Train);
        var test = ml.Data.LoadFromEnumerable(_data.Test.Take(8));
        var estimator = ml.AnatomyR1().SupervisedWarmStart(new VlmSupervisedTrainerOptions
        {
            Training = new SupervisedOptions { Steps = 20, BatchSize = 8, Seed = 2 },
            Device = "cpu",
            InitializationSeed = 5,
        });
        // The trainer ends an ML.NET pipeline; the transforms before it are saved through ML.NET itself.
        var pipeline = ml.Transforms.CopyColumns("QuestionCopy", VqaColumns.Question).Append(estimator);
        var model = pipeline.Fit(train);
        var predicted = model.Transform(test);
        var completions = predicted.GetColumn<string>(VqaColumns.Completion).ToArray();
        var letters = predicted.GetColumn<string>(VqaColumns.PredictedLetter).ToArray();
        Assert.Equal(8, completions.Length);
        Assert.Equal(8, predicted.GetColumn<string>("QuestionCopy").Count());

        // The evaluator scores the transformer's output directly.
        var metrics = ml.AnatomyR1().Evaluate(predicted);
        Assert.Equal(8, metrics.Overall.Count);

        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-model-" + Guid.NewGuid().ToString("N"));
        try
        {
            VlmModel.Save(ml, model, train.Schema, folder);
            var loaded = VlmModel.Load(ml, folder, out var loadedSchema, "cpu");
            Assert.Equal(train.Schema.Count, loadedSchema.Count);
            var again = loaded.Transform(test);
            Assert.Equal(completions, again.GetColumn<string>(VqaColumns.Completion).ToArray());
            Assert.Equal(letters, again.GetColumn<string>(VqaColumns.PredictedLetter).ToArray());
            ((IDisposable)loaded.Last()).Dispose();
            Assert.ThrowsAny<Exception>(() => ml.Model.Save(model, train.Schema, Path.Combine(folder, "plain.zip")));
            model.LastTransformer.Dispose();
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
