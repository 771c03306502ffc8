using AnatomyR1.Curriculum;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The ASCL curriculum as a GRPO prompt sampler (<see cref="CurriculumSampler"/>): the easiest fraction c(t) of the
/// prompts by S(q) is open at step t. Reports <c>curriculum/pool_fraction</c>, <c>curriculum/pool_size</c> and
/// <c>curriculum/pool_max_s_q</c> every step; the trainer adds <c>curriculum/mean_s_q</c> (the batch mean).
/// </summary>
public sealed class CurriculumPromptSampler : IGrpoPromptSampler
{
    /// <summary>Wraps a curriculum sampler.</summary>
    /// <param name="sampler">The sampler over the training prompts, in the trainer's example order.</param>
    public CurriculumPromptSampler(CurriculumSampler sampler) => Curriculum = sampler ?? throw new ArgumentNullException(nameof(sampler));

    /// <summary>Builds the sampler from the examples' <see cref="GrpoExample.OptionSimilarity"/> (and their <see cref="GrpoExample.CurriculumStage"/> when every example has one).</summary>
    /// <param name="examples">The training prompts.</param>
    /// <param name="options">Pacing options.</param>
    /// <param name="totalSteps">Steps of the run.</param>
    /// <param name="seed">Seed.</param>
    /// <exception cref="ArgumentException">An example has no S(q); the message names it.</exception>
    public CurriculumPromptSampler(IReadOnlyList<GrpoExample> examples, CurriculumOptions options, int totalSteps, int seed)
        : this(new CurriculumSampler(ScoresOf(examples), options, totalSteps, seed,
            examples.All(e => e.CurriculumStage is not null) ? examples.Select(e => e.CurriculumStage!.Value).ToList() : null))
    {
    }

    /// <summary>The underlying curriculum.</summary>
    public CurriculumSampler Curriculum { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Draw(int step, int attempt, int count) => Curriculum.Draw(step, attempt, count);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Metrics(int step) => Curriculum.Metrics(step);

    private static float[] ScoresOf(IReadOnlyList<GrpoExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var scores = new float[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            scores[i] = examples[i].OptionSimilarity is float s && float.IsFinite(s) ? s
                : throw new ArgumentException($"Training example {i} ({SampleSource.Describe(examples[i].Sample)}) has no S(q); score the data with AnatomicalSimilarity before using a curriculum.", nameof(examples));
        }

        return scores;
    }
}
