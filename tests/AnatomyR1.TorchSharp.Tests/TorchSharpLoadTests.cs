using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>TorchSharp's native libraries load in the test host and do real work on the CPU.</summary>
[Collection(TorchCollection.Name)]
public sealed class TorchSharpLoadTests
{
    [Fact]
    public void TensorOpBackwardAndOptimiserStepRunOnCpu()
    {
        TorchRuntime.Seed(7);
        using var scope = NewDisposeScope();

        // y = sum((w * x)^2), dy/dw = 2 * w * x^2.
        var x = tensor(new float[] { 1f, 2f, 3f });
        var w = new global::TorchSharp.Modules.Parameter(tensor(new float[] { 0.5f, -1f, 2f }));
        var y = (w * x).pow(2).sum();
        Assert.Equal(0.25f + 4f + 36f, y.item<float>(), 5);

        y.backward();
        float[] grad = w.grad!.data<float>().ToArray();
        Assert.Equal(new[] { 1f, -8f, 36f }, grad);

        // One SGD step with lr 0.1: w ← w − 0.1·grad.
        var optimiser = optim.SGD(new[] { w }, 0.1);
        optimiser.step();
        float[] updated = w.data<float>().ToArray();
        Assert.Equal(0.5f - 0.1f, updated[0], 5);
        Assert.Equal(-1f + 0.8f, updated[1], 5);
        Assert.Equal(2f - 3.6f, updated[2], 5);
    }

    [Fact]
    public void LinearModelLossFallsUnderAdamW()
    {
        TorchRuntime.Seed(11);
        using var model = nn.Linear(4, 1);
        var optimiser = optim.AdamW(model.parameters(), 0.05);
        using var xs = randn(64, 4);
        using var target = xs.matmul(tensor(new float[] { 1f, -2f, 0.5f, 3f }).reshape(4, 1));
        float first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            using var stepScope = NewDisposeScope();
            optimiser.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(xs), target);
            loss.backward();
            optimiser.step();
            float value = loss.item<float>();
            if (step == 0)
            {
                first = value;
            }

            last = value;
        }

        Assert.True(last < first * 0.05f, $"loss {first} → {last} should fall by 20×");
    }

    [Fact]
    public void SameSeedGivesSameNumbers()
    {
        TorchRuntime.Seed(123);
        float[] a = randn(16).data<float>().ToArray();
        TorchRuntime.Seed(123);
        float[] b = randn(16).data<float>().ToArray();
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void CpuDeviceResolves(string spec) => Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(spec).type);

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void BadDeviceSpecIsRejectedWithItsText(string spec)
    {
        var error = Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice(spec));
        Assert.Contains(spec, error.Message);
    }

    [Fact]
    public void AutoDeviceMatchesCudaAvailability()
    {
        var device = TorchRuntime.ResolveDevice("auto");
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
    }
}
