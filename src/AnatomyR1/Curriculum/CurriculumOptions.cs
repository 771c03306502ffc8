namespace AnatomyR1.Curriculum;

/// <summary>
/// Options of the ASCL curriculum (<see cref="CurriculumSampler"/>): training rows are ordered by S(q) ascending and
/// at step t only the easiest fraction c(t) of them may be drawn. Every field has a documented default.
/// </summary>
public sealed class CurriculumOptions
{
    /// <summary>Pacing function. Default <see cref="CurriculumPacing.Linear"/>.</summary>
    public CurriculumPacing Pacing { get; set; } = CurriculumPacing.Linear;

    /// <summary>c0: the fraction of the easiest rows in the pool at step 1, in (0, 1]. Default 0.2.</summary>
    public double StartFraction { get; set; } = 0.2;

    /// <summary>
    /// T: the first step at which the whole data is in the pool. 0 (default) derives it from the run length:
    /// T = ⌈<see cref="FullDataAt"/> · steps⌉.
    /// </summary>
    public int FullDataStep { get; set; }

    /// <summary>Where T falls as a fraction of the run when <see cref="FullDataStep"/> is 0, in (0, 1]. Default 0.8.</summary>
    public double FullDataAt { get; set; } = 0.8;

    /// <summary>The K used when <see cref="StageCount"/> is 0 and the data carries no stages: 3.</summary>
    public const int DefaultStageCount = 3;

    /// <summary>
    /// K for <see cref="CurriculumPacing.Stages"/>. 0 (default) takes K from the data's <c>CurriculumStage</c> column
    /// (written by <c>AnatomicalSimilarity</c> with its own StageCount), whose stages the pool then opens one by one, or
    /// <see cref="DefaultStageCount"/> when the data has none. A value of 2 or more must agree with the data's stages.
    /// </summary>
    public int StageCount { get; set; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException($"Curriculum option {name} = {value} is invalid: {rule}.", name);
            }
        }

        Check(Enum.IsDefined(Pacing), nameof(Pacing), Pacing, "not a defined pacing");
        Check(StartFraction is > 0 and <= 1, nameof(StartFraction), StartFraction, "in (0, 1]");
        Check(FullDataStep >= 0, nameof(FullDataStep), FullDataStep, "0 (derived) or a positive step");
        Check(FullDataAt is > 0 and <= 1, nameof(FullDataAt), FullDataAt, "in (0, 1]");
        Check(StageCount == 0 || StageCount >= 2, nameof(StageCount), StageCount, "0 (from the data) or at least 2 stages");
    }

    /// <summary>T for a run of <paramref name="totalSteps"/> steps.</summary>
    /// <param name="totalSteps">Steps of the run.</param>
    /// <returns>T ≥ 1.</returns>
    public int FullDataStepFor(int totalSteps) => FullDataStep > 0 ? FullDataStep : Math.Max(1, (int)Math.Ceiling(FullDataAt * totalSteps));

    /// <summary>A copy.</summary>
    /// <returns>The copy.</returns>
    public CurriculumOptions Clone() => (CurriculumOptions)MemberwiseClone();
}
