namespace AnatomyR1.Curriculum;

/// <summary>
/// The ASCL sampler: orders training rows by S(q) ascending (ties by row index) and at step t serves only the
/// easiest ⌈c(t)·N⌉ of them (the pool; <see cref="CurriculumSchedule"/>). Within the pool, rows are served in
/// seeded shuffled passes: the draws of consecutive steps walk through one permutation of the pool before the next
/// permutation starts, so once the pool is whole every row is served once per N draws. Every draw is a pure
/// function of (seed, step, attempt, count): a resumed run draws exactly what the uninterrupted run drew.
/// </summary>
public sealed class CurriculumSampler
{
    private readonly float[] _scores;
    private readonly int[] _order;
    private readonly int[]? _stageEnds;
    private readonly int _seed;
    private readonly object _gate = new();
    private (long Pass, int Pool) _cachedKey = (-1, -1);
    private int[] _cachedPermutation = Array.Empty<int>();

    /// <summary>Creates the sampler.</summary>
    /// <param name="scores">S(q) of every training row (finite).</param>
    /// <param name="options">Pacing options (validated here).</param>
    /// <param name="totalSteps">Steps of the run (T derives from it when <see cref="CurriculumOptions.FullDataStep"/> is 0).</param>
    /// <param name="seed">Seed.</param>
    /// <param name="stages">
    /// Each row's curriculum stage (0 = easiest; the <c>CurriculumStage</c> column of <c>AnatomicalSimilarity</c>), or null.
    /// With <see cref="CurriculumPacing.Stages"/> the pool then opens whole stages — stage k from the k-th of K steps of
    /// the schedule — and K is the number of stages in the data; <see cref="CurriculumOptions.StageCount"/> must be 0 or
    /// equal to it. Other pacings ignore the stages.
    /// </param>
    /// <exception cref="ArgumentException">No rows, a row's S(q) is not finite, or the stages do not fit the scores or the options; the message names the row or option.</exception>
    public CurriculumSampler(IReadOnlyList<float> scores, CurriculumOptions options, int totalSteps, int seed, IReadOnlyList<int>? stages = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        if (scores.Count == 0)
        {
            throw new ArgumentException("The curriculum needs at least one training row.", nameof(scores));
        }

        for (int i = 0; i < scores.Count; i++)
        {
            if (!float.IsFinite(scores[i]))
            {
                throw new ArgumentException($"Training row {i} has no S(q) ({scores[i]}); the curriculum orders rows by S(q), so every row needs options and a correct index.", nameof(scores));
            }
        }

        _scores = scores.ToArray();
        _order = Enumerable.Range(0, _scores.Length).OrderBy(i => _scores[i]).ThenBy(i => i).ToArray();
        _seed = seed;
        int stageCount = options.StageCount == 0 ? CurriculumOptions.DefaultStageCount : options.StageCount;
        if (stages is not null && options.Pacing == CurriculumPacing.Stages)
        {
            _stageEnds = StageEnds(stages, _order, options.StageCount);
            stageCount = _stageEnds.Length;
        }

        Schedule = new CurriculumSchedule(options, options.FullDataStepFor(totalSteps), stageCount);
    }

    /// <summary>The number of stages the pool opens in (K).</summary>
    public int StageCount => Schedule.StageCount;

    private static int[] StageEnds(IReadOnlyList<int> stages, int[] order, int requested)
    {
        if (stages.Count != order.Length)
        {
            throw new ArgumentException($"{stages.Count} stages for {order.Length} rows.", nameof(stages));
        }

        int k = stages.Max() + 1;
        if (stages.Min() < 0 || k < 2)
        {
            throw new ArgumentException($"Curriculum stages must be 0 … K − 1 with K ≥ 2 (got {stages.Min()} … {k - 1}).", nameof(stages));
        }

        if (requested != 0 && requested != k)
        {
            throw new ArgumentException($"CurriculumOptions.StageCount = {requested}, but the data's CurriculumStage column has {k} stages; set it to 0 (take the data's) or fit AnatomicalSimilarity with StageCount = {requested}.", "options");
        }

        // Rows ordered by S(q) must have non-decreasing stages (stages are S(q) quantile bands).
        var ends = new int[k];
        for (int i = 0; i < order.Length; i++)
        {
            int stage = stages[order[i]];
            if (i > 0 && stage < stages[order[i - 1]])
            {
                throw new ArgumentException($"Training row {order[i]} is in stage {stage} but an easier row ({order[i - 1]}) is in stage {stages[order[i - 1]]}: the stages do not follow S(q).", nameof(stages));
            }

            ends[stage] = i + 1;
        }

        for (int s = 1; s < k; s++)
        {
            ends[s] = Math.Max(ends[s], ends[s - 1]);
        }

        return ends;
    }

    /// <summary>The pacing function.</summary>
    public CurriculumSchedule Schedule { get; }

    /// <summary>Number of rows.</summary>
    public int Count => _scores.Length;

    /// <summary>Row indices from easiest to hardest.</summary>
    public IReadOnlyList<int> Order => _order;

    /// <summary>S(q) of a row.</summary>
    /// <param name="row">The row index.</param>
    /// <returns>Its S(q).</returns>
    public float ScoreOf(int row) => _scores[row];

    /// <summary>Rows open at a step.</summary>
    /// <param name="step">The 1-based step.</param>
    /// <returns>⌈c(t)·N⌉ (at least 1); with stage labels, the rows of the open stages.</returns>
    public int PoolSize(int step) => _stageEnds is null
        ? Schedule.PoolSize(step, _scores.Length)
        : Math.Max(1, _stageEnds[Schedule.OpenStage(step)]);

    /// <summary>Whether a row is in the pool at a step.</summary>
    /// <param name="row">The row index.</param>
    /// <param name="step">The step.</param>
    /// <returns>True when the row is among the easiest <see cref="PoolSize"/> rows.</returns>
    public bool InPool(int row, int step)
    {
        int pool = PoolSize(step);
        return Array.IndexOf(_order, row, 0, pool) >= 0;
    }

    /// <summary>Draws rows for a step.</summary>
    /// <param name="step">The 1-based step.</param>
    /// <param name="attempt">0 for the step's batch (the shuffled pass); 1, 2, … for dynamic-sampling redraws (uniform in the pool).</param>
    /// <param name="count">Rows wanted.</param>
    /// <returns>Row indices, all inside the step's pool.</returns>
    public IReadOnlyList<int> Draw(int step, int attempt, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int pool = PoolSize(step);
        var result = new int[count];
        if (attempt > 0)
        {
            var random = new Random(SeedMixer.Mix(_seed ^ 0x3C6EF372, step, attempt));
            for (int i = 0; i < count; i++)
            {
                result[i] = _order[random.Next(pool)];
            }

            return result;
        }

        long first = (long)(step - 1) * count;
        for (int i = 0; i < count; i++)
        {
            long position = first + i;
            long pass = position / pool;
            int offset = (int)(position % pool);
            result[i] = _order[Permutation(pass, pool)[offset]];
        }

        return result;
    }

    /// <summary>Mean S(q) of some rows (NaN for none).</summary>
    /// <param name="rows">Row indices.</param>
    /// <returns>The mean.</returns>
    public double MeanScore(IEnumerable<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        double sum = 0;
        int n = 0;
        foreach (int r in rows)
        {
            sum += _scores[r];
            n++;
        }

        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>The metrics of a step: <c>curriculum/pool_fraction</c>, <c>curriculum/pool_size</c>, <c>curriculum/pool_max_s_q</c>.</summary>
    /// <param name="step">The step.</param>
    /// <returns>Names and values.</returns>
    public IReadOnlyDictionary<string, double> Metrics(int step)
    {
        int pool = PoolSize(step);
        return new Dictionary<string, double>
        {
            ["curriculum/pool_fraction"] = (double)pool / _scores.Length,
            ["curriculum/pool_size"] = pool,
            ["curriculum/pool_max_s_q"] = _scores[_order[pool - 1]],
        };
    }

    private int[] Permutation(long pass, int pool)
    {
        lock (_gate)
        {
            if (_cachedKey == (pass, pool))
            {
                return _cachedPermutation;
            }

            var permutation = Enumerable.Range(0, pool).ToArray();
            new Random(SeedMixer.Mix(_seed, (int)(pass & 0x7FFFFFFF), pool)).Shuffle(permutation);
            _cachedKey = (pass, pool);
            _cachedPermutation = permutation;
            return permutation;
        }
    }
}
