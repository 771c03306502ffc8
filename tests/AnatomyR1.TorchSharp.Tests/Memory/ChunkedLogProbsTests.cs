using AnatomyR1.TorchSharp.Models.Memory;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Tests.Qwen;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Memory;

/// <summary>Chunked log-probabilities: the values, entropies and gradients of the full-logits computation.</summary>
[Collection(TorchCollection.Name)]
public sealed class ChunkedLogProbsTests
{
    private const long N = 37;
    private const long V = 50;
    private const long D = 16;

    private static (Tensor Hidden, Tensor Weight, Tensor Targets, Tensor Upstream) Inputs()
    {
        var generator = new Generator(21);
        return (randn(N, D, generator: generator), randn(V, D, generator: generator) * 0.5, randint(V, new[] { N }, generator: generator), randn(N, generator: generator));
    }

    private static (Tensor LogProbs, Tensor Entropy) Full(Tensor hidden, Tensor weight, Tensor targets, double temperature)
    {
        var logits = hidden.matmul(weight.t());
        if (temperature != 1.0)
        {
            logits = logits / temperature;
        }

        var all = logits.log_softmax(-1);
        return (all.gather(1, targets.unsqueeze(1)).squeeze(1), -(all.exp() * all).sum(-1).detach());
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= tolerance, $"{what}: differs by {difference:E2}");
    }

    [Theory]
    [InlineData(1, 0.7)]
    [InlineData(5, 0.7)]
    [InlineData(16, 1.3)]
    [InlineData(37, 0.7)]
    [InlineData(1024, 0.7)]
    [InlineData(8, 1.0)]
    public void Values_entropies_and_gradients_match_the_full_computation(int chunkSize, double temperature)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, targets, upstream) = Inputs();
        var fullHidden = hidden.clone().requires_grad_(true);
        var fullWeight = weight.clone().requires_grad_(true);
        var (expectedLogProbs, expectedEntropy) = Full(fullHidden, fullWeight, targets, temperature);
        (expectedLogProbs * upstream).sum().backward();

        var chunkHidden = hidden.clone().requires_grad_(true);
        var chunkWeight = weight.clone().requires_grad_(true);
        var (logProbs, entropy) = ChunkedLogProbs.LogProbsAndEntropy(chunkHidden, chunkWeight, targets, temperature, chunkSize);
        Assert.True(logProbs.requires_grad);
        Assert.False(entropy.requires_grad);
        AssertClose(expectedLogProbs, logProbs, 1e-5, "log-probabilities");
        AssertClose(expectedEntropy, entropy, 1e-5, "entropies");
        (logProbs * upstream).sum().backward();
        AssertClose(fullHidden.grad!, chunkHidden.grad!, 1e-5, "d hidden");
        AssertClose(fullWeight.grad!, chunkWeight.grad!, 1e-5, "d weight");
        Assert.True(chunkWeight.grad!.abs().sum().item<float>() > 0);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Only_the_inputs_that_require_gradients_get_them(bool hiddenGrad, bool weightGrad)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, targets, upstream) = Inputs();
        var fullHidden = hidden.clone().requires_grad_(true);
        var fullWeight = weight.clone().requires_grad_(true);
        var (expected, _) = Full(fullHidden, fullWeight, targets, 0.8);
        (expected * upstream).sum().backward();

        var h = hidden.clone().requires_grad_(hiddenGrad);
        var w = weight.clone().requires_grad_(weightGrad);
        var logProbs = ChunkedLogProbs.LogProbs(h, w, targets, 0.8, chunkSize: 6);
        AssertClose(expected, logProbs, 1e-5, "log-probabilities");
        Assert.Equal(hiddenGrad || weightGrad, logProbs.requires_grad);
        if (logProbs.requires_grad)
        {
            (logProbs * upstream).sum().backward();
        }

        Assert.Equal(hiddenGrad, h.grad is not null);
        Assert.Equal(weightGrad, w.grad is not null);
        if (hiddenGrad)
        {
            AssertClose(fullHidden.grad!, h.grad!, 1e-5, "d hidden");
        }

        if (weightGrad)
        {
            AssertClose(fullWeight.grad!, w.grad!, 1e-5, "d weight");
        }
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, targets, _) = Inputs();
        Assert.Throws<ArgumentException>(() => ChunkedLogProbs.LogProbs(hidden, weight.t(), targets));
        Assert.Throws<ArgumentException>(() => ChunkedLogProbs.LogProbs(hidden, weight, targets.narrow(0, 0, 3)));
        Assert.ThrowsAny<ArgumentException>(() => ChunkedLogProbs.LogProbs(hidden, weight, targets, chunkSize: 0));
    }

    [Theory]
    [InlineData(true, 1024, 0.8)]
    [InlineData(true, 3, 1.0)]
    [InlineData(false, 7, 0.8)]
    public void Qwen_scores_match_the_full_logits_in_values_and_in_every_gradient(bool tied, int chunkSize, double temperature)
    {
        using var policy = tied ? QwenMemoryFixtures.LoadTiny() : QwenMemoryFixtures.Create(QwenModelTests.TinyConfig(tied: false), seed: 12);
        policy.LogProbChunkSize = chunkSize;
        var (images, prompts, completions) = QwenMemoryFixtures.Batch(policy);
        using var imagesScope = images;
        using var promptsScope = prompts;
        using var completionsScope = completions;
        using var upstream = randn(completions.Rows, completions.Length, generator: new Generator(5));
        var full = new DelegatingPolicy(policy);
        policy.SetTraining(true);

        // Scoring without gradient (old and reference log-probabilities).
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var expected = QwenMemoryFixtures.FullScores(policy, images, prompts, completions, temperature).LogProbs;
            AssertClose(expected, policy.CompletionLogProbs(images, prompts, completions, temperature), 1e-5, "CompletionLogProbs");
        }

        // The update pass: the chunked override against the interface's default on the same model.
        Dictionary<string, Tensor?> Run(IVisionLanguagePolicy p, out Tensor logProbs, out Tensor entropy)
        {
            var (l, e) = p.CompletionLogProbsAndEntropy(images, prompts, completions, temperature);
            (l * upstream).sum().backward();
            logProbs = l.detach();
            entropy = e;
            return QwenMemoryFixtures.TakeGradients(policy.Model);
        }

        using var scores = NewDisposeScope();
        var expectedGrads = Run(full, out var expectedLogProbs, out var expectedEntropy);
        var actualGrads = Run(policy, out var actualLogProbs, out var actualEntropy);
        AssertClose(expectedLogProbs, actualLogProbs, 1e-5, "log-probabilities");
        AssertClose(expectedEntropy, actualEntropy, 1e-5, "entropies");
        Assert.False(actualEntropy.requires_grad);
        using var mask = completions.Mask.to_type(ScalarType.Float32);
        Assert.Equal(0, (actualLogProbs * (1 - mask)).abs().sum().item<float>());
        Assert.Equal(0, (actualEntropy * (1 - mask)).abs().sum().item<float>());
        Assert.True((actualEntropy * mask).min().item<float>() >= 0);
        foreach (var (name, expected) in expectedGrads)
        {
            Assert.True(expected is not null && actualGrads[name] is not null, $"{name}: missing gradient");
            double scale = Math.Max(1, expected!.abs().max().item<float>());
            double difference = (expected - actualGrads[name]!).abs().max().item<float>();
            Assert.True(difference <= 1e-5 * scale, $"{name}: gradients differ by {difference:E2} (largest {scale:E2})");
        }

        foreach (var g in expectedGrads.Values.Concat(actualGrads.Values))
        {
            g?.Dispose();
        }
    }
}
