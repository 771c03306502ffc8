using AnatomyR1.TorchSharp.Models;
using Xunit;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Generation;

/// <summary>The preallocated KV cache holds exactly what the growing one does, writes in place, and refuses misuse.</summary>
[Collection(TorchCollection.Name)]
public sealed class KvCacheTests
{
    [Fact]
    public void PreallocatedCacheMatchesTheGrowingOneThroughPrefillExpandAndDecode()
    {
        manual_seed(1);
        using var growing = new KvCache(2);
        using var fixedSize = new KvCache(2, capacity: 12);
        using var prefixKeys = randn(2, 3, 5, 4);
        using var prefixValues = randn(2, 3, 5, 4);
        using var prefixMask = tensor(new long[] { 0, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, new long[] { 2, 5 });
        using var next = tensor(new long[] { 4, 5 });
        foreach (var cache in new[] { growing, fixedSize })
        {
            for (int layer = 0; layer < 2; layer++)
            {
                cache.Append(layer, prefixKeys, prefixValues);
            }

            cache.SetState(prefixMask, next);
            cache.Expand(3);
        }

        Assert.Equal(5, fixedSize.Length);
        Assert.True(Same(growing.KeyMask!, fixedSize.KeyMask!));
        Assert.True(Same(growing.NextPosition!, fixedSize.NextPosition!));
        for (int step = 0; step < 7; step++)
        {
            using var k = randn(6, 3, 1, 4);
            using var v = randn(6, 3, 1, 4);
            using var maskA = growing.ExtendedKeyMask(1);
            using var maskB = fixedSize.ExtendedKeyMask(1);
            Assert.True(Same(maskA, maskB));
            using var biasA = growing.SingleTokenBias(maskA);
            using var biasB = fixedSize.SingleTokenBias(maskB);
            Assert.True(Same(biasA, biasB), $"step {step}: additive masks differ");
            for (int layer = 0; layer < 2; layer++)
            {
                var (ka, va) = growing.Append(layer, k, v);
                var (kb, vb) = fixedSize.Append(layer, k, v);
                Assert.True(Same(ka, kb) && Same(va, vb), $"step {step}, layer {layer}: cached keys or values differ");
                Assert.Equal(new long[] { 6, 3, 6 + step, 4 }, kb.shape);
            }

            using var advanced = growing.NextPosition!.add(1);
            using var advancedB = fixedSize.NextPosition!.add(1);
            growing.SetState(maskA, advanced);
            fixedSize.SetState(maskB, advancedB);
        }

        Assert.Equal(12, fixedSize.Length);
        // Padding (row 0's first position, copied to its three expanded rows) stays masked.
        using var finalMask = fixedSize.ExtendedKeyMask(0);
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1 }, finalMask.select(1, 0).data<long>().ToArray());
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void PreallocatedCacheRefusesOverflowAndGradients()
    {
        using var cache = new KvCache(1, capacity: 4);
        using var keys = randn(1, 2, 3, 4);
        cache.Append(0, keys, keys);
        using var mask = ones(1, 3, dtype: ScalarType.Int64);
        using var next = tensor(new long[] { 3 });
        cache.SetState(mask, next);
        using var two = randn(1, 2, 2, 4);
        var overflow = Assert.Throws<InvalidOperationException>(() => cache.Append(0, two, two));
        Assert.Contains("holds 4 positions", overflow.Message);
        using var tracked = randn(new long[] { 1, 2, 1, 4 }, requires_grad: true);
        var grad = Assert.Throws<InvalidOperationException>(() => cache.Append(0, tracked, tracked));
        Assert.Contains("no_grad", grad.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvCache(1, capacity: -1));
    }
}
