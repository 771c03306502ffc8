namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Group-relative advantages. Rewards are laid out group-major: completions g·G … g·G + G − 1 answer prompt g
/// (groups may differ in size when question variants share a group, see the overload with group sizes).
/// </summary>
public static class GrpoAdvantages
{
    /// <summary>Added to the standard deviation before dividing, as in the design guide.</summary>
    public const double StdEpsilon = 1e-4;

    /// <summary>Advantages for equal groups of <paramref name="groupSize"/>.</summary>
    /// <param name="rewards">Total rewards, group-major.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="scale">Scaling.</param>
    /// <returns>One advantage per completion.</returns>
    public static float[] Compute(IReadOnlyList<float> rewards, int groupSize, ScaleRewards scale)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (groupSize < 1 || rewards.Count % groupSize != 0)
        {
            throw new ArgumentException($"{rewards.Count} rewards do not split into groups of {groupSize}.", nameof(groupSize));
        }

        return Compute(rewards, Enumerable.Repeat(groupSize, rewards.Count / groupSize).ToArray(), scale);
    }

    /// <summary>Advantages for consecutive groups of the given sizes.</summary>
    /// <param name="rewards">Total rewards, group-major.</param>
    /// <param name="groupSizes">Size of each group, in order (they must sum to the number of rewards).</param>
    /// <param name="scale">Scaling.</param>
    /// <returns>One advantage per completion.</returns>
    public static float[] Compute(IReadOnlyList<float> rewards, IReadOnlyList<int> groupSizes, ScaleRewards scale)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(groupSizes);
        if (groupSizes.Sum() != rewards.Count || groupSizes.Any(s => s < 1))
        {
            throw new ArgumentException($"Group sizes ({string.Join(", ", groupSizes)}) do not partition {rewards.Count} rewards.", nameof(groupSizes));
        }

        var advantages = new float[rewards.Count];
        double batchStd = scale == ScaleRewards.Batch ? Std(rewards, 0, rewards.Count) : 0;
        int start = 0;
        foreach (int size in groupSizes)
        {
            double mean = Mean(rewards, start, size);
            double divisor = scale switch
            {
                ScaleRewards.Group => Std(rewards, start, size) + StdEpsilon,
                ScaleRewards.Batch => batchStd + StdEpsilon,
                _ => 1.0,
            };
            for (int i = start; i < start + size; i++)
            {
                advantages[i] = (float)((rewards[i] - mean) / divisor);
            }

            start += size;
        }

        return advantages;
    }

    /// <summary>Per group: whether all its rewards are equal (zero standard deviation, so no gradient).</summary>
    /// <param name="rewards">Total rewards, group-major.</param>
    /// <param name="groupSizes">Group sizes.</param>
    /// <returns>One flag per group.</returns>
    public static bool[] ZeroStdGroups(IReadOnlyList<float> rewards, IReadOnlyList<int> groupSizes)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(groupSizes);
        var flags = new bool[groupSizes.Count];
        int start = 0;
        for (int g = 0; g < groupSizes.Count; g++)
        {
            flags[g] = IsZeroStd(rewards, start, groupSizes[g]);
            start += groupSizes[g];
        }

        return flags;
    }

    /// <summary>Whether a run of rewards is constant.</summary>
    /// <param name="rewards">Rewards.</param>
    /// <param name="start">First index.</param>
    /// <param name="count">Length.</param>
    /// <returns>True when every value equals the first.</returns>
    public static bool IsZeroStd(IReadOnlyList<float> rewards, int start, int count)
    {
        for (int i = start + 1; i < start + count; i++)
        {
            if (rewards[i] != rewards[start])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Population standard deviation of a run of values.</summary>
    /// <param name="values">Values.</param>
    /// <param name="start">First index.</param>
    /// <param name="count">Length.</param>
    /// <returns>The standard deviation (0 for a single value).</returns>
    public static double Std(IReadOnlyList<float> values, int start, int count)
    {
        double mean = Mean(values, start, count);
        double sum = 0;
        for (int i = start; i < start + count; i++)
        {
            sum += (values[i] - mean) * (values[i] - mean);
        }

        return Math.Sqrt(sum / count);
    }

    private static double Mean(IReadOnlyList<float> values, int start, int count)
    {
        double sum = 0;
        for (int i = start; i < start + count; i++)
        {
            sum += values[i];
        }

        return sum / count;
    }
}
