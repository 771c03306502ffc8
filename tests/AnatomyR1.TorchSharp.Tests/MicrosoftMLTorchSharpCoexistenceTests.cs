using Microsoft.ML;
using Microsoft.ML.TorchSharp;
using Microsoft.ML.TorchSharp.NasBert;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// Microsoft.ML.TorchSharp 0.23.1 was built against an older TorchSharp; these tests show that its types and
/// estimators bind against TorchSharp 0.107 in the same process as our own tensor work.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MicrosoftMLTorchSharpCoexistenceTests
{
    [Fact]
    public void TextClassificationOptionsAndEstimatorLoadBesideOurTensors()
    {
        // Our own TorchSharp use first, so both users of the native library share this process.
        using (var t = ones(2, 2))
        {
            Assert.Equal(4f, t.sum().item<float>());
        }

        // Microsoft.ML.TorchSharp was compiled against an older TorchSharp than the one this process loaded; the binding
        // below works only because the newer assembly is accepted in its place.
        var loaded = typeof(global::TorchSharp.torch).Assembly.GetName().Version!;
        var wanted = typeof(TextClassificationTrainer).Assembly.GetReferencedAssemblies().Single(a => a.Name == "TorchSharp").Version!;
        Assert.Equal(new Version(0, 107, 0, 0), loaded);
        Assert.True(wanted < loaded, $"Microsoft.ML.TorchSharp references TorchSharp {wanted}; loaded {loaded}");

        var options = new TextClassificationTrainer.TextClassificationOptions
        {
            LabelColumnName = "Label",
            Sentence1ColumnName = "Sentence",
            MaxEpoch = 1,
            BatchSize = 4,
        };
        var ml = new MLContext(seed: 1);
        var estimator = ml.MulticlassClassification.Trainers.TextClassification(options);

        Assert.IsType<TextClassificationTrainer>(estimator);

        // Every type of Microsoft.ML.TorchSharp resolves its base types and interfaces against the loaded assemblies
        // (a ReflectionTypeLoadException here would mean the newer TorchSharp broke the binding).
        var types = typeof(TextClassificationTrainer).Assembly.GetTypes();
        Assert.Contains(types, t => t.Name == "RobertaModelForQA" && t.IsSubclassOf(typeof(global::TorchSharp.torch.nn.Module)));

        // Constructing the estimator touched no network; Fit would download weights, so it is not called.
        using var after = arange(3);
        Assert.Equal(3, after.sum().item<long>());
    }
}
