using System.Diagnostics;
using System.Text.Json.Nodes;
using AnatomyR1.Data;
using AnatomyR1.Rewards;
using AnatomyR1.TorchSharp.Distributed;
using AnatomyR1.TorchSharp.Policy;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Collects a generation batch for GRPO: draws prompts, plans each group (one question form, or GDQA's spread over
/// several), samples G completions per prompt (shared-prefix generation where the group shares one prompt), scores
/// them with the reward functions, and replaces all-equal-reward groups by dynamic sampling. It keeps the adaptive
/// GDQA state (which prompts last had zero reward variance) and each example's prepared image.
/// </summary>
internal sealed class RolloutCollector
{
    private readonly IVisionLanguagePolicy _policy;
    private readonly IReadOnlyList<GrpoExample> _examples;
    private readonly GrpoOptions _options;
    private readonly IGrpoPromptSampler _sampler;
    private readonly PreparedImage?[] _images;
    private readonly sbyte[] _lastZeroStd;

    public RolloutCollector(IVisionLanguagePolicy policy, IReadOnlyList<GrpoExample> examples, GrpoOptions options, IGrpoPromptSampler sampler)
    {
        _policy = policy;
        _examples = examples;
        _options = options;
        _sampler = sampler;
        _images = new PreparedImage?[examples.Count];
        _lastZeroStd = new sbyte[examples.Count];
        Array.Fill(_lastZeroStd, (sbyte)-1);
    }

    /// <summary>
    /// Draws, samples and scores the batch of <paramref name="step"/> (with dynamic-sampling retries) for this process's
    /// shards: one <see cref="RolloutBatch"/> per local shard, in shard order. Every shard plans its GDQA forms from the
    /// state at the start of the step plus its own updates; the shards' updates are merged afterwards in shard order
    /// (over all processes), so the result does not depend on where the shards run.
    /// </summary>
    public List<RolloutBatch> Collect(int step, ShardLayout layout)
    {
        var clock = Stopwatch.StartNew();
        var draw = _sampler.Draw(step, 0, _options.BatchSize);
        var startState = (sbyte[])_lastZeroStd.Clone();
        var shards = new List<ShardWork>();
        double rewardSeconds = 0;
        foreach (int s in layout.Local)
        {
            var work = new ShardWork(s, (sbyte[])startState.Clone());
            work.Groups = Rollout(draw.Skip(s * layout.PerShard).Take(layout.PerShard).ToList(), step, 0, s, work, out double seconds);
            work.Before = work.Groups.Select(g => g.ZeroStd).ToArray();
            rewardSeconds += seconds;
            shards.Add(work);
        }

        for (int attempt = 1; _options.DynamicSampling && attempt <= _options.MaxResamples
            && layout.Group.AnyProcess(shards.Any(w => w.Groups.Any(g => g.ZeroStd && g.Finite))); attempt++)
        {
            // One draw for the zero-variance groups of every shard, cut in shard order.
            var counts = new long[layout.Count];
            foreach (var work in shards)
            {
                counts[work.Shard] = work.Groups.Count(g => g.ZeroStd);
            }

            layout.Group.AllReduce(counts, ReduceOp.Sum);
            var candidates = _sampler.Draw(step, attempt, (int)counts.Sum());
            foreach (var work in shards)
            {
                int offset = (int)counts.Take(work.Shard).Sum();
                if (counts[work.Shard] == 0)
                {
                    continue;
                }

                var zero = work.Groups.Select(g => g.ZeroStd).ToArray();
                var fresh = Rollout(candidates.Skip(offset).Take((int)counts[work.Shard]).ToList(), step, attempt, work.Shard, work, out double seconds);
                rewardSeconds += seconds;
                foreach (var (slot, candidate) in DynamicSampling.Select(zero, fresh.Select(c => c.ZeroStd || !c.Finite).ToArray()))
                {
                    work.Groups[slot] = fresh[candidate];
                    work.Resampled++;
                }
            }
        }

        MergeState(shards, startState, layout);
        double generation = clock.Elapsed.TotalSeconds - rewardSeconds;
        return shards.Select(w => new RolloutBatch(w.Groups, w.Before, w.Resampled, generation / shards.Count, rewardSeconds / shards.Count) { Shard = w.Shard }).ToList();
    }

    /// <summary>Applies the shards' GDQA-state writes in shard order: the last shard that wrote a prompt's entry wins.</summary>
    private void MergeState(List<ShardWork> shards, sbyte[] startState, ShardLayout layout)
    {
        if (!layout.Distributed && shards.Count == 1)
        {
            Array.Copy(shards[0].State, _lastZeroStd, _lastZeroStd.Length);
            return;
        }

        var writer = new long[_lastZeroStd.Length];
        foreach (var work in shards)
        {
            for (int i = 0; i < writer.Length; i++)
            {
                if (work.Written[i])
                {
                    writer[i] = work.Shard + 1;
                }
            }
        }

        layout.Group.AllReduce(writer, ReduceOp.Max);
        var values = new long[_lastZeroStd.Length];
        foreach (var work in shards)
        {
            for (int i = 0; i < values.Length; i++)
            {
                if (writer[i] == work.Shard + 1)
                {
                    values[i] = work.State[i];
                }
            }
        }

        layout.Group.AllReduce(values, ReduceOp.Sum);
        for (int i = 0; i < values.Length; i++)
        {
            _lastZeroStd[i] = writer[i] > 0 ? (sbyte)values[i] : startState[i];
        }
    }

    /// <summary>One shard's groups and its view of the GDQA state during a step.</summary>
    private sealed class ShardWork
    {
        public ShardWork(int shard, sbyte[] state)
        {
            Shard = shard;
            State = state;
            Written = new bool[state.Length];
        }

        public int Shard { get; }

        public sbyte[] State { get; }

        public bool[] Written { get; }

        public List<GroupRollout> Groups { get; set; } = new();

        public bool[] Before { get; set; } = Array.Empty<bool>();

        public int Resampled { get; set; }
    }

    /// <summary>The images of training examples (one row per index) as a batch on the policy's device.</summary>
    public ImageBatch Images(IReadOnlyList<int> indices)
    {
        var prepared = new List<PreparedImage>(indices.Count);
        foreach (int i in indices)
        {
            prepared.Add(_images[i] ??= Prepare(i));
        }

        return _policy.ImageProcessor.Collate(prepared, _policy.Device);
    }

    /// <summary>The adaptive GDQA state as JSON (−1 unseen, 0 informative, 1 all-equal rewards last time).</summary>
    public string StateJson() => new JsonArray(_lastZeroStd.Select(v => (JsonNode)JsonValue.Create((int)v)).ToArray()).ToJsonString();

    /// <summary>Restores the adaptive GDQA state written by <see cref="StateJson"/> (absent file: nothing to restore).</summary>
    public void ReadState(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var values = JsonNode.Parse(File.ReadAllText(path)) as JsonArray;
        if (values is null || values.Count != _lastZeroStd.Length)
        {
            throw new InvalidDataException($"{path}: expected an array of {_lastZeroStd.Length} values (one per training prompt); resume with the same examples.");
        }

        for (int i = 0; i < values.Count; i++)
        {
            _lastZeroStd[i] = values[i] is JsonValue v && v.TryGetValue(out int x) && x is >= -1 and <= 1 ? (sbyte)x
                : throw new InvalidDataException($"{path}: element {i} is not −1, 0 or 1.");
        }
    }

    private PreparedImage Prepare(int index)
    {
        var example = _examples[index];
        try
        {
            return _policy.ImageProcessor.Prepare(example.ImageOrFile());
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"Training example {index} ({SampleSource.Describe(example.Sample)}): {ex.Message}", ex);
        }
    }

    private List<GroupRollout> Rollout(IReadOnlyList<int> indices, int step, int attempt, int shard, ShardWork work, out double rewardSeconds)
    {
        int g = _options.NumGenerations;
        var plans = indices.Select(i => Plan(i, work.State)).ToList();
        var groups = new GroupRollout?[indices.Count];
        _policy.SetTraining(false);
        using (var scope = NewDisposeScope())
        {
            // Groups that answer one form: the image and prompt are encoded once and expanded G ways (shared prefix).
            var plain = Enumerable.Range(0, indices.Count).Where(p => !plans[p].Spread).ToList();
            if (plain.Count > 0)
            {
                var prompts = plain.Select(p => Prompt(plans[p].Forms[0])).ToList();
                var samples = Sample(plain.Select(p => indices[p]).ToList(), prompts, g, ShardSeed(UniformPromptSampler.StepSeed(_options.Seed ^ 0x5EED, step, attempt), shard));
                for (int j = 0; j < plain.Count; j++)
                {
                    int p = plain[j];
                    groups[p] = new GroupRollout(indices[p], plans[p].Forms, Enumerable.Repeat(prompts[j], g).ToList(), samples.Tokens[j], samples.Texts[j], samples.Truncated[j]);
                }
            }

            // GDQA groups: each completion has the prompt of its own question form.
            var spread = Enumerable.Range(0, indices.Count).Where(p => plans[p].Spread).ToList();
            if (spread.Count > 0)
            {
                var rows = spread.SelectMany(p => Enumerable.Repeat(indices[p], g)).ToList();
                var prompts = spread.SelectMany(p => plans[p].Forms.Select(Prompt)).ToList();
                var samples = Sample(rows, prompts, 1, ShardSeed(UniformPromptSampler.StepSeed(_options.Seed ^ 0x6D0A, step, attempt), shard));
                for (int j = 0; j < spread.Count; j++)
                {
                    int p = spread[j];
                    var span = Enumerable.Range(j * g, g).ToList();
                    groups[p] = new GroupRollout(indices[p], plans[p].Forms, prompts.GetRange(j * g, g),
                        span.Select(r => samples.Tokens[r][0]).ToList(), span.Select(r => samples.Texts[r][0]).ToList(), span.Select(r => samples.Truncated[r][0]).ToList());
                }
            }
        }

        var result = groups.Select(x => x!).ToList();
        var clock = Stopwatch.StartNew();
        Score(result);
        rewardSeconds = clock.Elapsed.TotalSeconds;
        foreach (var group in result.Where(r => r.Finite))
        {
            work.State[group.ExampleIndex] = group.ZeroStd ? (sbyte)1 : (sbyte)0;
            work.Written[group.ExampleIndex] = true;
        }

        return result;
    }

    /// <summary>Shard 0 samples with the step's seed (so one shard is the single-process run); shard s &gt; 0 with a seed mixed from it.</summary>
    private static int ShardSeed(int seed, int shard) =>
        shard == 0 ? seed : SeedMixer.Mix(seed, 0x5A4D, shard);

    private string Prompt(VqaSample form) => _policy.FormatPrompt(form.Question, form.Options);

    /// <summary>The question form each of a prompt's G completions will answer.</summary>
    private (IReadOnlyList<VqaSample> Forms, bool Spread) Plan(int index, sbyte[] state)
    {
        var example = _examples[index];
        int g = _options.NumGenerations;
        if (_options.Gdqa is { } gdqa && example.Variants is { Count: > 1 } variants
            && (gdqa.Mode == GdqaMode.Static || state[index] == 1))
        {
            var forms = gdqa.MaxForms > 0 ? variants.Take(gdqa.MaxForms).ToList() : variants.ToList();
            var counts = GroupSplit.Counts(g, forms.Count);
            return (forms.SelectMany((f, v) => Enumerable.Repeat(f, counts[v])).ToList(), true);
        }

        return (Enumerable.Repeat(example.Sample, g).ToList(), false);
    }

    /// <summary>Samples <paramref name="perPrompt"/> completions for each (example, prompt) pair.</summary>
    private (List<List<int[]>> Tokens, List<List<string>> Texts, List<List<bool>> Truncated) Sample(List<int> exampleIndices, List<string> prompts, int perPrompt, int seed)
    {
        using var images = Images(exampleIndices);
        using var encoded = _policy.EncodePrompts(prompts);
        using var result = _policy.Generate(images, encoded, _options.Generation with { NumReturnSequences = perPrompt, Seed = seed });
        long[] ids = result.Completions.Ids.cpu().data<long>().ToArray();
        long[] mask = result.Completions.Mask.cpu().data<long>().ToArray();
        int width = (int)result.Completions.Length;
        var tokens = new List<List<int[]>>(prompts.Count);
        var texts = new List<List<string>>(prompts.Count);
        var truncated = new List<List<bool>>(prompts.Count);
        for (int p = 0; p < prompts.Count; p++)
        {
            var own = new List<int[]>(perPrompt);
            for (int k = 0; k < perPrompt; k++)
            {
                int row = (p * perPrompt) + k;
                own.Add(Enumerable.Range(0, width).Where(c => mask[(row * width) + c] != 0).Select(c => (int)ids[(row * width) + c]).ToArray());
            }

            tokens.Add(own);
            texts.Add(result.Texts.Skip(p * perPrompt).Take(perPrompt).ToList());
            truncated.Add(result.Truncated.Skip(p * perPrompt).Take(perPrompt).ToList());
        }

        return (tokens, texts, truncated);
    }

    private void Score(List<GroupRollout> groups)
    {
        var texts = groups.SelectMany(g => g.Texts).ToList();
        var rows = groups.SelectMany(g => g.Forms.Select(form => RowOf(_examples[g.ExampleIndex], form))).ToList();
        var scores = _options.Rewards.Score(new RewardBatch(texts, rows), allowNonFinite: true);
        int offset = 0;
        foreach (var group in groups)
        {
            group.Rewards = scores.Total.Skip(offset).Take(group.Size).ToArray();
            group.PerFunction = scores.PerFunction.ToDictionary(p => p.Key, p => p.Value.Skip(offset).Take(group.Size).ToArray());
            offset += group.Size;
        }
    }

    private static RewardRow RowOf(GrpoExample example, VqaSample form) =>
        example.Columns is null ? new RewardRow(form) : new RewardRow(form, example.Columns);
}
