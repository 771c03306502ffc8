namespace AnatomyR1.Curriculum;

/// <summary>The pacing function c(t): the fraction of the easiest rows open at (1-based) step t.</summary>
public sealed class CurriculumSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="options">Pacing, c0 and K (validated here).</param>
    /// <param name="fullDataStep">T: c(t) = 1 for t ≥ T.</param>
    public CurriculumSchedule(CurriculumOptions options, int fullDataStep)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(fullDataStep, 1);
        Options = options.Clone();
        FullDataStep = fullDataStep;
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
            CurriculumPacing.Stages => c0 + ((1 - c0) * Math.Floor((Options.StageCount - 1) * p) / (Options.StageCount - 1)),
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
