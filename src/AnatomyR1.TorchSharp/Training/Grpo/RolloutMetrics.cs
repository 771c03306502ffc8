namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>The metrics of a generation batch (TRL's names where TRL has one): rewards, zero-variance groups overall and per answer class, S(q), GDQA, dynamic sampling, completion lengths and timings.</summary>
internal static class RolloutMetrics
{
    /// <summary>The accuracy reward's name: its scores split the dead groups into all right and all wrong.</summary>
    private const string AccuracyName = "accuracy";

    public static void Add(BatchView batch, IReadOnlyList<GrpoExample> examples, GrpoOptions options, Action<string, double> add)
    {
        var groups = batch.Groups;
        var rewards = groups.SelectMany(g => g.Rewards).ToArray();
        add("reward", rewards.Average(r => (double)r));
        add("reward_std", groups.Average(g => GrpoAdvantages.Std(g.Rewards, 0, g.Size)));
        foreach (var (function, _) in options.Rewards.Terms)
        {
            var values = groups.SelectMany(g => g.PerFunction[function.Name]).Where(v => v.HasValue).Select(v => (double)v!.Value).ToArray();
            double mean = values.Length == 0 ? double.NaN : values.Average();
            add($"rewards/{function.Name}/mean", mean);
            add($"rewards/{function.Name}/std", values.Length == 0 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length));
        }

        add("frac_reward_zero_std", groups.Average(g => g.ZeroStd ? 1.0 : 0.0));
        if (options.Rewards.Terms.Any(t => t.Function.Name == AccuracyName))
        {
            // What killed the dead groups: every completion right (nothing left to learn) or every one wrong (no signal).
            add("dead_groups/all_right", groups.Average(g => g.ZeroStd && g.PerFunction[AccuracyName].All(v => v is > 0) ? 1.0 : 0.0));
            add("dead_groups/all_wrong", groups.Average(g => g.ZeroStd && g.PerFunction[AccuracyName].All(v => v is not > 0) ? 1.0 : 0.0));
        }

        if (groups.All(g => examples[g.ExampleIndex].OptionSimilarity is float s && float.IsFinite(s)))
        {
            add("curriculum/mean_s_q", groups.Average(g => (double)examples[g.ExampleIndex].OptionSimilarity!.Value));
        }

        foreach (var byClass in groups.GroupBy(g => examples[g.ExampleIndex].ClassLabel).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            add($"frac_reward_zero_std/{byClass.Key}", byClass.Average(g => g.ZeroStd ? 1.0 : 0.0));
        }

        if (options.Gdqa is not null)
        {
            var spread = groups.Where(g => g.Spread).ToList();
            add("gdqa/augmented_fraction", spread.Count / (double)groups.Count);
            add("gdqa/forms_per_augmented_group", spread.Count == 0 ? 0 : spread.Average(g => (double)g.DistinctForms));
            add("gdqa/frac_reward_zero_std_augmented", spread.Count == 0 ? double.NaN : spread.Average(g => g.ZeroStd ? 1.0 : 0.0));
        }

        if (options.DynamicSampling)
        {
            add("dynamic_sampling/frac_reward_zero_std_before", groups.Average(g => g.ZeroStdBefore ? 1.0 : 0.0));
            add("dynamic_sampling/resampled_groups", batch.Resampled);
        }

        var lengths = groups.SelectMany(g => g.Lengths).ToArray();
        add("completions/mean_length", lengths.Average());
        add("completions/min_length", lengths.Min());
        add("completions/max_length", lengths.Max());
        add("completions/clipped_ratio", groups.SelectMany(g => g.Truncated).Average(t => t ? 1.0 : 0.0));
        bool fresh = batch.Fresh;
        add("time/generation", fresh ? batch.GenerationSeconds : 0);
        add("time/reward", fresh ? batch.RewardSeconds : 0);
        add("time/reference_logprobs", fresh ? batch.ReferenceSeconds : 0);
        add("tokens_per_second", fresh && batch.GenerationSeconds > 0 ? lengths.Sum() / batch.GenerationSeconds : double.NaN);
    }
}
