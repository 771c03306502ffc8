namespace AnatomyR1.Curriculum;

/// <summary>The pacing function c(t): the fraction of the easiest rows open at (1-based) step t.</summary>
public sealed class CurriculumSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="options">Pacing, c0 and K (validated here).</param>
    /// <param name="fullDataStep">T: c(t) = 1 for t ≥ T.</param>
    /// <param name="stageCount">K for <see cref="CurriculumPacing.Stages"/>; 0 takes <see cref="CurriculumOptions.StageCount"/> (or its default when that is 0).</param>
    public CurriculumSchedule(CurriculumOptions options, int fullDataStep, int stageCount = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(fullDataStep, 1);
        Options = options.Clone();
        FullDataStep = fullDataStep;
        StageCount = stageCount > 0 ? stageCount : options.StageCount > 0 ? options.StageCount : CurriculumOptions.DefaultStageCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(StageCount, 2, nameof(stageCount));
    }

    /// <summary>K: the number of stages <see cref="CurriculumPacing.Stages"/> opens.</summary>
    public int StageCount { get; }

    /// <summary>The last stage open at a step under <see cref="CurriculumPacing.Stages"/>: ⌊(K − 1)·p⌋ before T, K − 1 from T on.</summary>
    /// <param name="step">The 1-based step.</param>
    /// <returns>0 … K − 1.</returns>
    public int OpenStage(int step)
    {
        if (step >= FullDataStep)
        {
            return StageCount - 1;
        }

        double p = (Math.Max(step, 1) - 1) / (double)(FullDataStep - 1);
        return Math.Clamp((int)Math.Floor((StageCount - 1) * p), 0, StageCount - 1);
    }

    /// <summary>The options.</summary>
    public CurriculumOptions Options { get; }

    /// <summary>T.</summary>
    public int FullDataStep { get; }

    /// <summary>c(t) ∈ (0, 1]: c(1) = c0 (unless T = 1), c(t) = 1 for t ≥ T, non-decreasing in between.</summary>
    /// <param name="step">The 1-based step (steps below 1 count as 1).</param>
    /// <returns>The pool fraction.</returns>
    public double PoolFraction(int step)
    {
        if (step >= FullDataStep)
        {
            return 1.0;
        }

        double c0 = Options.StartFraction;
        double p = (Math.Max(step, 1) - 1) / (double)(FullDataStep - 1);
        double c = Options.Pacing switch
        {
            CurriculumPacing.Linear => c0 + ((1 - c0) * p),
            CurriculumPacing.Root => Math.Sqrt((c0 * c0) + ((1 - (c0 * c0)) * p)),
            CurriculumPacing.Stages => c0 + ((1 - c0) * Math.Floor((StageCount - 1) * p) / (StageCount - 1)),
            _ => throw new InvalidOperationException($"Unknown pacing {Options.Pacing}."),
        };
        return Math.Clamp(c, c0, 1.0);
    }

    /// <summary>How many of <paramref name="rows"/> rows are open at a step: ⌈c(t)·rows⌉, at least 1.</summary>
    /// <param name="step">The step.</param>
    /// <param name="rows">Rows in all.</param>
    /// <returns>The pool size.</returns>
    public int PoolSize(int step, int rows) => Math.Clamp((int)Math.Ceiling((PoolFraction(step) * rows) - 1e-9), 1, rows);
}
