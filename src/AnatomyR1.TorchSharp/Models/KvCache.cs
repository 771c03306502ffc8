using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>
/// Keys and values of every decoder layer for the tokens seen so far, with the key padding mask and each row's next
/// position. Decoding a token attends to the cache instead of recomputing the prefix. <see cref="Expand"/> repeats
/// every row G times, so G completions share one prefill of their prompt (and one encoding of their image).
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="layers">Decoder layers.</param>
    public KvCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Key padding mask [B, L]: 1 where a cached token is real, 0 for padding.</summary>
    public Tensor? KeyMask { get; private set; }

    /// <summary>The position the next token of each row takes [B].</summary>
    public Tensor? NextPosition { get; private set; }

    /// <summary>Cached length L.</summary>
    public long Length => KeyMask?.shape[1] ?? 0;

    /// <summary>Appends a layer's new keys and values [B, H, T, D] and returns the full ones.</summary>
    /// <param name="layer">Layer index.</param>
    /// <param name="keys">New keys.</param>
    /// <param name="values">New values.</param>
    /// <returns>All keys and values of the layer.</returns>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var k = _keys[layer] is Tensor oldK ? cat(new[] { oldK, keys }, 2) : keys.alias();
        var v = _values[layer] is Tensor oldV ? cat(new[] { oldV, values }, 2) : values.alias();
        Replace(ref _keys[layer], k.DetachFromDisposeScope());
        Replace(ref _values[layer], v.DetachFromDisposeScope());
        return (_keys[layer]!, _values[layer]!);
    }

    /// <summary>Records the mask and next positions after a forward pass.</summary>
    /// <param name="keyMask">The full key mask [B, L].</param>
    /// <param name="nextPosition">Next positions [B].</param>
    public void SetState(Tensor keyMask, Tensor nextPosition)
    {
        var mask = keyMask.alias().DetachFromDisposeScope();
        var next = nextPosition.alias().DetachFromDisposeScope();
        var oldMask = KeyMask;
        var oldNext = NextPosition;
        KeyMask = mask;
        NextPosition = next;
        oldMask?.Dispose();
        oldNext?.Dispose();
    }

    /// <summary>Repeats every row <paramref name="times"/> times (row r becomes rows r·G … r·G+G−1).</summary>
    /// <param name="times">G.</param>
    public void Expand(int times)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is Tensor k)
            {
                Replace(ref _keys[i], k.repeat_interleave(times, 0).DetachFromDisposeScope());
                Replace(ref _values[i], _values[i]!.repeat_interleave(times, 0).DetachFromDisposeScope());
            }
        }

        if (KeyMask is Tensor mask && NextPosition is Tensor next)
        {
            using var m = mask.repeat_interleave(times, 0);
            using var n = next.repeat_interleave(times, 0);
            SetState(m, n);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = null;
            _values[i] = null;
        }

        KeyMask?.Dispose();
        NextPosition?.Dispose();
        KeyMask = null;
        NextPosition = null;
    }

    private static void Replace(ref Tensor? slot, Tensor value)
    {
        var old = slot;
        slot = value;
        if (old is not null && !ReferenceEquals(old, value))
        {
            old.Dispose();
        }
    }
}
