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

        var options = new TextClassificationTrainer.TextClassificationOptions
        {
            LabelColumnName = "Label",
            Sentence1ColumnName = "Sentence",
            MaxEpoch = 1,
            BatchSize = 4,
        };
        Assert.Equal(4, options.BatchSize);

        var ml = new MLContext(seed: 1);
        var estimator = ml.MulticlassClassification.Trainers.TextClassification(options);
        Assert.NotNull(estimator);

        // Constructing the estimator touched no network; Fit would download weights, so it is not called.
        using var after = arange(3);
        Assert.Equal(3, after.sum().item<long>());
    }
}
