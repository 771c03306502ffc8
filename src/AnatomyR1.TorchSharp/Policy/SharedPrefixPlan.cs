using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Which rows of a scoring batch share their prefix: the same prepared image (the same <see cref="PreparedImage"/>
/// object, as a trainer's image cache hands out) and the same prompt tokens. A GRPO group's G completions of one
/// prompt share one; GDQA groups share one per question form. A policy encodes each distinct prefix once and gives
/// its cached keys and values to every row that shares it.
/// </summary>
public sealed class SharedPrefixPlan
{
    private readonly long[] _unique;
    private readonly long[] _rowToUnique;

    private SharedPrefixPlan(long[] unique, long[] rowToUnique)
    {
        _unique = unique;
        _rowToUnique = rowToUnique;
    }

    /// <summary>Distinct prefixes.</summary>
    public int UniqueCount => _unique.Length;

    /// <summary>Rows.</summary>
    public int RowCount => _rowToUnique.Length;

    /// <summary>
    /// The plan for a batch, or null when no two rows share a prefix (then separate passes cost nothing extra).
    /// </summary>
    /// <param name="images">The batch's prepared images, one per row.</param>
    /// <param name="prompts">The batch's left-padded prompts.</param>
    /// <returns>The plan, or null.</returns>
    public static SharedPrefixPlan? Of(IReadOnlyList<PreparedImage> images, TokenBatch prompts)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(prompts);
        int rows = (int)prompts.Rows;
        if (images.Count != rows || rows < 2)
        {
            return null;
        }

        int width = (int)prompts.Length;
        long[] ids = prompts.Ids.cpu().data<long>().ToArray();
        long[] mask = prompts.Mask.cpu().to_type(ScalarType.Int64).data<long>().ToArray();
        var firstRowOf = new Dictionary<(PreparedImage, string), int>();
        var unique = new List<long>();
        var map = new long[rows];
        for (int r = 0; r < rows; r++)
        {
            var tokens = new System.Text.StringBuilder();
            for (int c = 0; c < width; c++)
            {
                int i = (r * width) + c;
                tokens.Append(mask[i] != 0 ? ids[i] : -1).Append(',');
            }

            var key = (images[r], tokens.ToString());
            if (!firstRowOf.TryGetValue(key, out int u))
            {
                u = unique.Count;
                firstRowOf[key] = u;
                unique.Add(r);
            }

            map[r] = u;
        }

        return unique.Count == rows ? null : new SharedPrefixPlan(unique.ToArray(), map);
    }

    /// <summary>The first row of each distinct prefix, in order.</summary>
    public IReadOnlyList<long> UniqueRowList => _unique;

    /// <summary>The first row of each distinct prefix [U] (int64), on a device.</summary>
    /// <param name="device">The device.</param>
    /// <returns>The row indices.</returns>
    public Tensor UniqueRows(Device device) => tensor(_unique, device: device);

    /// <summary>For every row, the index of its prefix among the distinct ones [N] (int64), on a device.</summary>
    /// <param name="device">The device.</param>
    /// <returns>The indices.</returns>
    public Tensor RowToUnique(Device device) => tensor(_rowToUnique, device: device);
}
