using AnatomyR1.TorchSharp.Models.Memory;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Tests.Qwen;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Memory;

/// <summary>Activation checkpointing: the same values and gradients as without it, with the activations recomputed.</summary>
[Collection(TorchCollection.Name)]
public sealed class ActivationCheckpointTests
{
    [Fact]
    public void A_checkpointed_block_gives_the_same_output_and_gradients_and_runs_twice()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var first = nn.Linear(8, 16);
        var second = nn.Linear(16, 8);
        var parameters = first.parameters().Concat(second.parameters()).ToList();
        var shift = randn(8);
        int runs = 0;
        Tensor Block(Tensor x, IReadOnlyList<Tensor> c)
        {
            runs++;
            return second.forward(nn.functional.silu(first.forward(x))) * x + c[0];
        }

        var input = randn(5, 8);
        var upstream = randn(5, 8);

        var direct = input.detach().clone().requires_grad_(true);
        var expected = Block(direct, new[] { shift });
        (expected * upstream).sum().backward();
        var expectedGrads = parameters.Select(p => p.grad!.clone()).ToList();
        foreach (var p in parameters)
        {
            p.grad = null;
        }

        runs = 0;
        var checkpointed = input.detach().clone().requires_grad_(true);
        var actual = ActivationCheckpoint.Run(Block, checkpointed, new[] { shift }, parameters);
        Assert.Equal(1, runs);
        Assert.True(actual.requires_grad);
        Assert.Equal(0, (actual - expected).abs().max().item<float>());
        (actual * upstream).sum().backward();
        Assert.Equal(2, runs);
        Assert.True(allclose(checkpointed.grad!, direct.grad!, rtol: 0, atol: 1e-6));
        for (int i = 0; i < parameters.Count; i++)
        {
            Assert.True(allclose(parameters[i].grad!, expectedGrads[i], rtol: 0, atol: 1e-6), $"parameter {i}");
        }
    }

    [Fact]
    public void Parameters_get_gradients_when_the_input_needs_none()
    {
        // Adapters on a frozen model: the block's input carries no gradient, its parameters do.
        using var scope = NewDisposeScope();
        manual_seed(4);
        var layer = nn.Linear(6, 6);
        var input = randn(3, 6);
        var upstream = randn(3, 6);
        (layer.forward(input).tanh() * upstream).sum().backward();
        var expected = layer.parameters().Select(p => p.grad!.clone()).ToList();
        foreach (var p in layer.parameters())
        {
            p.grad = null;
        }

        var output = ActivationCheckpoint.Run(x => layer.forward(x).tanh(), input, layer.parameters());
        Assert.True(output.requires_grad);
        (output * upstream).sum().backward();
        var actual = layer.parameters().ToList();
        for (int i = 0; i < actual.Count; i++)
        {
            Assert.True(allclose(actual[i].grad!, expected[i], rtol: 0, atol: 1e-6), $"parameter {i}");
        }
    }

    [Fact]
    public void Without_gradients_the_block_runs_once_and_plainly()
    {
        using var scope = NewDisposeScope();
        var layer = nn.Linear(4, 4);
        int runs = 0;
        using (no_grad())
        {
            var output = ActivationCheckpoint.Run(x => { runs++; return layer.forward(x); }, randn(2, 4), layer.parameters());
            Assert.False(output.requires_grad);
        }

        Assert.Equal(1, runs);
        Assert.Throws<ArgumentException>(() => ActivationCheckpoint.Run((x, c) => x, randn(2).requires_grad_(true), new[] { randn(2).requires_grad_(true) }, layer.parameters()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Qwen_gradients_of_every_parameter_are_the_same_with_checkpointing(bool tied)
    {
        using var policy = tied ? QwenMemoryFixtures.LoadTiny() : QwenMemoryFixtures.Create(QwenModelTests.TinyConfig(tied: false), seed: 11);
        var (images, prompts, completions) = QwenMemoryFixtures.Batch(policy);
        using var imagesScope = images;
        using var promptsScope = prompts;
        using var completionsScope = completions;
        using var upstream = randn(completions.Rows, completions.Length, generator: new Generator(7));
        policy.SetTraining(true);

        Dictionary<string, Tensor?> Gradients(bool checkpointing, out float[] values)
        {
            using var scope = NewDisposeScope();
            policy.GradientCheckpointing = checkpointing;
            var logProbs = policy.CompletionLogProbs(images, prompts, completions, temperature: 0.9);
            values = logProbs.detach().reshape(-1).data<float>().ToArray();
            (logProbs * upstream).sum().backward();
            return QwenMemoryFixtures.TakeGradients(policy.Model);
        }

        var plain = Gradients(false, out var plainValues);
        var checkpointed = Gradients(true, out var checkpointedValues);
        Assert.Equal(plainValues, checkpointedValues);
        Assert.Equal(plain.Keys, checkpointed.Keys);
        foreach (var (name, expected) in plain)
        {
            var actual = checkpointed[name];
            Assert.True(expected is not null, $"{name}: no gradient without checkpointing");
            Assert.True(actual is not null, $"{name}: no gradient with checkpointing");
            double difference = (actual! - expected!).abs().max().item<float>();
            Assert.True(difference <= 1e-6, $"{name}: gradients differ by {difference:E2}");
        }

        Assert.Contains(checkpointed.Values, g => g!.abs().sum().item<float>() > 0);
        foreach (var g in plain.Values.Concat(checkpointed.Values))
        {
            g?.Dispose();
        }
    }

    [Fact]
    public void Qwen_checkpointing_keeps_no_activations_inside_the_layers_and_only_applies_in_training()
    {
        // Without checkpointing, the backward pass needs the layer weights as they were in the forward pass: changing
        // one in place in between is an error. With checkpointing, only layer inputs are kept and the layers are run
        // again, so the same change goes through (and, being +0, leaves the gradients as they were).
        using var policy = QwenMemoryFixtures.LoadTiny();
        var (images, prompts, completions) = QwenMemoryFixtures.Batch(policy);
        using var imagesScope = images;
        using var promptsScope = prompts;
        using var completionsScope = completions;
        var weight = policy.Model.named_parameters().Single(p => p.name == "model.layers.0.mlp.down_proj.weight").parameter;

        void Backward(bool training, bool checkpointing, bool touch)
        {
            using var scope = NewDisposeScope();
            policy.SetTraining(training);
            policy.GradientCheckpointing = checkpointing;
            var loss = policy.CompletionLogProbs(images, prompts, completions).sum();
            if (touch)
            {
                using var noGrad = no_grad();
                weight.add_(0.0);
            }

            loss.backward();
        }

        Backward(training: true, checkpointing: true, touch: false);
        var expected = QwenMemoryFixtures.TakeGradients(policy.Model);
        Backward(training: true, checkpointing: true, touch: true);
        var actual = QwenMemoryFixtures.TakeGradients(policy.Model);
        foreach (var (name, g) in expected)
        {
            Assert.True(g is not null && actual[name] is not null && (g - actual[name]!).abs().max().item<float>() == 0, name);
        }

        Assert.ThrowsAny<Exception>(() => Backward(training: true, checkpointing: false, touch: true));
        QwenMemoryFixtures.TakeGradients(policy.Model);
        Assert.ThrowsAny<Exception>(() => Backward(training: false, checkpointing: true, touch: true));
        QwenMemoryFixtures.TakeGradients(policy.Model);
    }
}
