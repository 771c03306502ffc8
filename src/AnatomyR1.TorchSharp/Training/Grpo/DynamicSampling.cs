namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The selection rule of dynamic sampling: a group whose rewards are all equal is replaced by a freshly sampled
/// group, but only by one whose rewards vary (so a replacement never makes the batch worse). Pure, for testing.
/// </summary>
public static class DynamicSampling
{
    /// <summary>Pairs the zero-variance slots of the current batch with usable candidate groups, in order.</summary>
    /// <param name="currentZeroStd">Per slot of the batch: its group has zero reward variance.</param>
    /// <param name="candidateZeroStd">Per freshly sampled candidate group: zero reward variance.</param>
    /// <returns>(slot, candidate) pairs: slot i takes candidate j. Each slot and each candidate is used at most once.</returns>
    public static IReadOnlyList<(int Slot, int Candidate)> Select(IReadOnlyList<bool> currentZeroStd, IReadOnlyList<bool> candidateZeroStd)
    {
        ArgumentNullException.ThrowIfNull(currentZeroStd);
        ArgumentNullException.ThrowIfNull(candidateZeroStd);
        var pairs = new List<(int, int)>();
        int candidate = 0;
        for (int slot = 0; slot < currentZeroStd.Count; slot++)
        {
            if (!currentZeroStd[slot])
            {
                continue;
            }

            while (candidate < candidateZeroStd.Count && candidateZeroStd[candidate])
            {
                candidate++;
            }

            if (candidate == candidateZeroStd.Count)
            {
                break;
            }

            pairs.Add((slot, candidate++));
        }

        return pairs;
    }
}
