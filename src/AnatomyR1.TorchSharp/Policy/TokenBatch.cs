using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>Token ids and their mask (1 = real token, 0 = padding), both [B, T] int64. Disposes both.</summary>
/// <param name="Ids">Token ids.</param>
/// <param name="Mask">The mask.</param>
public sealed record TokenBatch(Tensor Ids, Tensor Mask) : IDisposable
{
    /// <summary>Rows.</summary>
    public long Rows => Ids.shape[0];

    /// <summary>Columns.</summary>
    public long Length => Ids.shape[1];

    /// <summary>Repeats each row <paramref name="times"/> times (row r becomes rows r·G … r·G+G−1).</summary>
    /// <param name="times">G.</param>
    /// <returns>A new batch.</returns>
    public TokenBatch RepeatRows(int times) => new(Ids.repeat_interleave(times, 0), Mask.repeat_interleave(times, 0));

    /// <summary>Left-pads token lists into a batch (prompts end at the same column).</summary>
    /// <param name="rows">The token lists.</param>
    /// <param name="padId">The padding id.</param>
    /// <param name="device">Target device.</param>
    /// <returns>The batch.</returns>
    public static TokenBatch LeftPadded(IReadOnlyList<IReadOnlyList<int>> rows, int padId, Device device) => Pad(rows, padId, device, left: true);

    /// <summary>Right-pads token lists into a batch (completions start at the same column).</summary>
    /// <param name="rows">The token lists.</param>
    /// <param name="padId">The padding id.</param>
    /// <param name="device">Target device.</param>
    /// <returns>The batch.</returns>
    public static TokenBatch RightPadded(IReadOnlyList<IReadOnlyList<int>> rows, int padId, Device device) => Pad(rows, padId, device, left: false);

    private static TokenBatch Pad(IReadOnlyList<IReadOnlyList<int>> rows, int padId, Device device, bool left)
    {
        int length = Math.Max(1, rows.Max(r => r.Count));
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
        {
            int offset = left ? length - rows[r].Count : 0;
            for (int i = 0; i < rows[r].Count; i++)
            {
                ids[(r * length) + offset + i] = rows[r][i];
                mask[(r * length) + offset + i] = 1;
            }
        }

        return new TokenBatch(tensor(ids, new long[] { rows.Count, length }, device: device), tensor(mask, new long[] { rows.Count, length }, device: device));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Ids.Dispose();
        Mask.Dispose();
    }
}
