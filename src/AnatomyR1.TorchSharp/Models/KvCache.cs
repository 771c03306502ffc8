using AnatomyR1.TorchSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Models;

/// <summary>
/// Keys and values of every decoder layer for the tokens seen so far, with the key padding mask, the matching additive
/// attention mask and each row's next position. Decoding a token attends to the cache instead of recomputing the
/// prefix. <see cref="Expand"/> repeats every row G times, so G completions share one prefill of their prompt (and
/// one encoding of their image).
/// </summary>
/// <remarks>
/// <para>With a <see cref="Capacity"/> (the most positions the sequences will reach: prompt plus new tokens), the
/// cache allocates each layer's keys and values once, [B, heads, capacity, head width], and writes every new token's
/// into its column in place; the keys and values a layer attends to are views of the filled columns, so decoding
/// copies nothing but the new token's entries (no growth by concatenation). The key mask and the additive mask are
/// kept the same way. This is the mode generation uses; it holds no autograd history, so it is for passes without
/// gradient.</para>
/// <para>Without a capacity (0, the default) the cache grows by concatenation: any length, and gradients flow
/// through it (the shared-prefix scoring passes use it so).</para>
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private Tensor? _mask;
    private Tensor? _bias;
    private Tensor? _nextPosition;
    private long _extendedTo = -1;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="layers">Decoder layers.</param>
    /// <param name="capacity">Positions to preallocate (prompt + new tokens), or 0 to grow by concatenation.</param>
    public KvCache(int layers, long capacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
        Capacity = capacity;
    }

    /// <summary>Preallocated positions (0 when the cache grows by concatenation).</summary>
    public long Capacity { get; }

    /// <summary>Cached length L (positions filled so far).</summary>
    public long Length { get; private set; }

    /// <summary>Key padding mask [B, L] (int64): 1 where a cached token is real, 0 for padding.</summary>
    public Tensor? KeyMask => _mask is null ? null : Capacity > 0 ? _mask.narrow(1, 0, Length) : _mask;

    /// <summary>The position the next token of each row takes [B].</summary>
    public Tensor? NextPosition => _nextPosition;

    /// <summary>
    /// The key mask of the filled positions plus <paramref name="tokens"/> new real ones [B, L + tokens], as a decode
    /// step of that many tokens attends to. A preallocated cache writes the new columns in place and returns a view
    /// (nothing is copied); a growing one concatenates. <see cref="Length"/> does not change until
    /// <see cref="SetState"/>.
    /// </summary>
    /// <param name="tokens">New tokens per row.</param>
    /// <returns>The key mask.</returns>
    public Tensor ExtendedKeyMask(long tokens)
    {
        var mask = _mask ?? throw new InvalidOperationException("The cache has not been filled by a prefill yet.");
        if (Capacity == 0)
        {
            return cat(new[] { mask, ones(mask.shape[0], tokens, dtype: ScalarType.Int64, device: mask.device) }, 1);
        }

        CheckRoom(tokens);
        mask.narrow(1, Length, tokens).fill_(FixedScalars.One);
        _extendedTo = Length + tokens;
        _bias!.narrow(1, Length, tokens).fill_(FixedScalars.FloatZero);
        return mask.narrow(1, 0, Length + tokens);
    }

    /// <summary>
    /// The additive attention mask [B, 1, 1, L + tokens] (float32: 0 for real keys, −10⁹ for padding) of a decode step
    /// of one token per row, after <see cref="ExtendedKeyMask"/>. A preallocated cache returns a view of the mask it
    /// keeps; a growing one computes it from <paramref name="keyMask"/>.
    /// </summary>
    /// <param name="keyMask">The key mask <see cref="ExtendedKeyMask"/> returned.</param>
    /// <returns>The additive mask.</returns>
    public Tensor SingleTokenBias(Tensor keyMask)
    {
        ArgumentNullException.ThrowIfNull(keyMask);
        long b = keyMask.shape[0], l = keyMask.shape[1];
        return Capacity > 0
            ? _bias!.narrow(1, 0, l).view(b, 1, 1, l)
            : FixedScalars.AdditiveMask(keyMask.to_type(ScalarType.Bool)).view(b, 1, 1, l);
    }

    /// <summary>
    /// What a decode step of <paramref name="tokens"/> new tokens per row needs: their positions [B, T] (continuing from
    /// <see cref="NextPosition"/>), the key mask with them [B, L + T] (<see cref="ExtendedKeyMask"/>) and the additive
    /// attention mask [B, 1, T, L + T] (causal among the new tokens; for one token a view of the kept mask).
    /// </summary>
    /// <param name="tokens">New tokens per row.</param>
    /// <returns>Positions, key mask and additive mask.</returns>
    public (Tensor Positions, Tensor KeyMask, Tensor Bias) NextStep(long tokens)
    {
        var next = _nextPosition ?? throw new InvalidOperationException("The cache has not been filled by a prefill yet.");
        Tensor positions;
        if (tokens == 1)
        {
            positions = next.unsqueeze(1);
        }
        else
        {
            using var steps = tokens.ToScalar();
            positions = next.unsqueeze(1).Plus(arange(steps, dtype: ScalarType.Int64, device: next.device).unsqueeze(0));
        }

        long past = Length;
        var keyMask = ExtendedKeyMask(tokens);
        var bias = tokens == 1
            ? SingleTokenBias(keyMask)
            : FixedScalars.AdditiveMask(ones(tokens, past + tokens, dtype: ScalarType.Bool, device: next.device).tril(past).unsqueeze(0) & keyMask.to_type(ScalarType.Bool).unsqueeze(1)).unsqueeze(1);
        return (positions, keyMask, bias);
    }

    /// <summary>Appends a layer's new keys and values [B, H, T, D] and returns all of the layer's [B, H, L + T, D].</summary>
    /// <param name="layer">Layer index.</param>
    /// <param name="keys">New keys.</param>
    /// <param name="values">New values.</param>
    /// <returns>All keys and values of the layer.</returns>
    /// <exception cref="InvalidOperationException">A preallocated cache is given tensors that need gradients, or more tokens than it has room for.</exception>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        if (Capacity == 0)
        {
            var k = _keys[layer] is Tensor oldK ? cat(new[] { oldK, keys }, 2) : keys.alias();
            var v = _values[layer] is Tensor oldV ? cat(new[] { oldV, values }, 2) : values.alias();
            Replace(ref _keys[layer], k.DetachFromDisposeScope());
            Replace(ref _values[layer], v.DetachFromDisposeScope());
            return (_keys[layer]!, _values[layer]!);
        }

        if (keys.requires_grad || values.requires_grad)
        {
            throw new InvalidOperationException("A preallocated KV cache holds no autograd history; fill it without gradient (no_grad), or use a growing cache (capacity 0).");
        }

        long t = keys.shape[2];
        CheckRoom(t);
        if (_keys[layer] is null)
        {
            _keys[layer] = empty(new[] { keys.shape[0], keys.shape[1], Capacity, keys.shape[3] }, dtype: keys.dtype, device: keys.device).DetachFromDisposeScope();
            _values[layer] = empty(new[] { values.shape[0], values.shape[1], Capacity, values.shape[3] }, dtype: values.dtype, device: values.device).DetachFromDisposeScope();
        }

        var keyStore = _keys[layer]!;
        var valueStore = _values[layer]!;
        keyStore.narrow(2, Length, t).copy_(keys);
        valueStore.narrow(2, Length, t).copy_(values);
        return (keyStore.narrow(2, 0, Length + t), valueStore.narrow(2, 0, Length + t));
    }

    /// <summary>Records the key mask [B, L] and next positions [B] after a forward pass; L becomes the cached length.</summary>
    /// <param name="keyMask">The full key mask (for a preallocated cache: the one <see cref="ExtendedKeyMask"/> returned, or a prefill's).</param>
    /// <param name="nextPosition">Next positions [B].</param>
    public void SetState(Tensor keyMask, Tensor nextPosition)
    {
        ArgumentNullException.ThrowIfNull(keyMask);
        ArgumentNullException.ThrowIfNull(nextPosition);
        long l = keyMask.shape[1];
        if (Capacity == 0)
        {
            Replace(ref _mask, keyMask.alias().DetachFromDisposeScope());
        }
        else
        {
            if (l > Capacity)
            {
                throw new InvalidOperationException($"The key mask has {l} positions but the cache holds {Capacity}.");
            }

            if (_mask is null)
            {
                _mask = zeros(keyMask.shape[0], Capacity, dtype: ScalarType.Int64, device: keyMask.device).DetachFromDisposeScope();
                _bias = full(new[] { keyMask.shape[0], Capacity }, FixedScalars.MaskedKey, dtype: ScalarType.Float32, device: keyMask.device).DetachFromDisposeScope();
            }

            var filled = _mask.narrow(1, 0, l);
            // A decode step's mask is a view of the kept one (already written); a prefill's is copied in.
            if (l != _extendedTo)
            {
                filled.copy_(keyMask);
                var bias = _bias!.narrow(1, 0, l);
                bias.fill_(FixedScalars.MaskedKey);
                bias.masked_fill_(keyMask.to_type(ScalarType.Bool), FixedScalars.FloatZero);
            }
        }

        Replace(ref _nextPosition, nextPosition.alias().DetachFromDisposeScope());
        Length = l;
        _extendedTo = -1;
    }

    /// <summary>
    /// Repeats every row <paramref name="times"/> times (row r becomes rows r·G … r·G+G−1). A preallocated cache copies
    /// the filled positions once into new [B·G, …] storage straight from a broadcast view of the old rows.
    /// </summary>
    /// <param name="times">G.</param>
    public void Expand(int times)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is Tensor k)
            {
                Replace(ref _keys[i], Repeat(k, times, 2).DetachFromDisposeScope());
                Replace(ref _values[i], Repeat(_values[i]!, times, 2).DetachFromDisposeScope());
            }
        }

        if (_mask is not null)
        {
            Replace(ref _mask, _mask.repeat_interleave(times, 0).DetachFromDisposeScope());
            if (_bias is not null)
            {
                Replace(ref _bias, _bias.repeat_interleave(times, 0).DetachFromDisposeScope());
            }
        }

        if (_nextPosition is not null)
        {
            Replace(ref _nextPosition, _nextPosition.repeat_interleave(times, 0).DetachFromDisposeScope());
        }
    }

    /// <summary>
    /// Replaces the rows by <paramref name="rows"/> [N] of them (int64 indices, repeats allowed): how prompts that
    /// several completions share are computed once and then given to each. Differentiable for a growing cache.
    /// </summary>
    /// <param name="rows">Row indices.</param>
    public void SelectRows(Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is Tensor k)
            {
                Replace(ref _keys[i], k.index_select(0, rows).DetachFromDisposeScope());
                Replace(ref _values[i], _values[i]!.index_select(0, rows).DetachFromDisposeScope());
            }
        }

        if (_mask is not null)
        {
            Replace(ref _mask, _mask.index_select(0, rows).DetachFromDisposeScope());
            if (_bias is not null)
            {
                Replace(ref _bias, _bias.index_select(0, rows).DetachFromDisposeScope());
            }
        }

        if (_nextPosition is not null)
        {
            Replace(ref _nextPosition, _nextPosition.index_select(0, rows).DetachFromDisposeScope());
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

        _mask?.Dispose();
        _bias?.Dispose();
        _nextPosition?.Dispose();
        _mask = null;
        _bias = null;
        _nextPosition = null;
        Length = 0;
    }

    private Tensor Repeat(Tensor store, int times, int lengthDim)
    {
        if (Capacity == 0)
        {
            return store.repeat_interleave(times, 0);
        }

        // One copy of the filled columns from a broadcast view: [B, 1, …] → [B, G, …] → [B·G, …].
        long b = store.shape[0];
        var shape = store.shape;
        var expanded = empty(new[] { b * times }.Concat(shape.Skip(1)).ToArray(), dtype: store.dtype, device: store.device);
        var target = expanded.view(new[] { b, (long)times }.Concat(shape.Skip(1)).ToArray()).narrow(lengthDim + 1, 0, Length);
        target.copy_(store.narrow(lengthDim, 0, Length).unsqueeze(1));
        return expanded;
    }

    private void CheckRoom(long tokens)
    {
        if (Length + tokens > Capacity)
        {
            throw new InvalidOperationException($"The KV cache holds {Capacity} positions; {Length} are filled and {tokens} more do not fit.");
        }
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
