using AnatomyR1.TorchSharp.Distributed;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Builds the step's <see cref="BatchView"/> from this process's shards: each group becomes a fixed-length record of
/// doubles (example, GDQA spread, forms, zero variance before resampling, then per completion its reward, length and
/// cut-off flag, then per reward function and completion whether it scored and its score), every process writes its
/// shards' records at their place in the global array, and the arrays are summed over the processes (exact: every
/// position has one non-zero writer).
/// </summary>
internal static class BatchGather
{
    public static BatchView Gather(IReadOnlyList<RolloutBatch> local, ShardLayout layout, IReadOnlyList<string> functions, int generations)
    {
        if (!layout.Distributed)
        {
            var groups = local.SelectMany(b => b.Groups.Select((g, j) => Summary(g, b.ZeroStdBefore[j]))).ToList();
            return new BatchView(groups, local.Sum(b => b.Resampled), local.Sum(b => b.GenerationSeconds), local.Sum(b => b.RewardSeconds), local.Sum(b => b.ReferenceSeconds), local[0].Uses == 0);
        }

        int g = generations;
        int record = 4 + (3 * g) + (2 * functions.Count * g);
        int total = layout.Count * layout.PerShard;
        var all = new double[(total * record) + 4];
        foreach (var batch in local)
        {
            for (int j = 0; j < batch.Groups.Count; j++)
            {
                var group = batch.Groups[j];
                if (group.Size != g)
                {
                    throw new InvalidOperationException($"A group has {group.Size} completions, not G = {g}.");
                }

                var r = all.AsSpan(((batch.Shard * layout.PerShard) + j) * record, record);
                r[0] = group.ExampleIndex;
                r[1] = group.Spread ? 1 : 0;
                r[2] = group.Forms.Distinct().Count();
                r[3] = batch.ZeroStdBefore[j] ? 1 : 0;
                for (int k = 0; k < g; k++)
                {
                    r[4 + (3 * k)] = group.Rewards[k];
                    r[5 + (3 * k)] = group.Tokens[k].Length;
                    r[6 + (3 * k)] = group.Truncated[k] ? 1 : 0;
                }

                for (int f = 0; f < functions.Count; f++)
                {
                    var scores = group.PerFunction[functions[f]];
                    for (int k = 0; k < g; k++)
                    {
                        int at = 4 + (3 * g) + (2 * ((f * g) + k));
                        r[at] = scores[k].HasValue ? 1 : 0;
                        r[at + 1] = scores[k] ?? 0;
                    }
                }
            }
        }

        layout.Group.GatherBySum(all.AsSpan(0, total * record));

        // The critical path: the slowest process's timings; the resampled count is a sum.
        Span<double> times = stackalloc double[] { local.Sum(b => b.GenerationSeconds), local.Sum(b => b.RewardSeconds), local.Sum(b => b.ReferenceSeconds) };
        layout.Group.AllReduce(times, ReduceOp.Max);
        Span<long> resampled = stackalloc long[] { local.Sum(b => b.Resampled) };
        layout.Group.AllReduce(resampled, ReduceOp.Sum);
        var summaries = new List<GroupSummary>(total);
        for (int i = 0; i < total; i++)
        {
            var r = all.AsSpan(i * record, record);
            var rewards = new float[g];
            var lengths = new int[g];
            var truncated = new bool[g];
            for (int k = 0; k < g; k++)
            {
                rewards[k] = (float)r[4 + (3 * k)];
                lengths[k] = (int)r[5 + (3 * k)];
                truncated[k] = r[6 + (3 * k)] != 0;
            }

            var perFunction = new Dictionary<string, float?[]>();
            for (int f = 0; f < functions.Count; f++)
            {
                var scores = new float?[g];
                for (int k = 0; k < g; k++)
                {
                    int at = 4 + (3 * g) + (2 * ((f * g) + k));
                    scores[k] = r[at] != 0 ? (float)r[at + 1] : null;
                }

                perFunction[functions[f]] = scores;
            }

            summaries.Add(new GroupSummary((int)r[0], rewards, perFunction, lengths, truncated, r[1] != 0, (int)r[2], r[3] != 0));
        }

        return new BatchView(summaries, (int)resampled[0], times[0], times[1], times[2], local[0].Uses == 0);
    }

    private static GroupSummary Summary(GroupRollout g, bool zeroStdBefore) =>
        new(g.ExampleIndex, g.Rewards, g.PerFunction, g.Tokens.Select(t => t.Length).ToArray(), g.Truncated.ToArray(), g.Spread, g.Forms.Distinct().Count(), zeroStdBefore);
}
