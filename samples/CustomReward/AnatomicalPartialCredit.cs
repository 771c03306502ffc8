using AnatomyR1.Curriculum;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;

namespace CustomReward;

/// <summary>
/// A custom GRPO reward: full credit for the correct option, and partial credit for a wrong option in proportion to
/// how alike it is to the correct anatomy under a similarity measure (choosing the omentum for the gut earns more
/// than choosing the liver). Completions with no readable answer get 0; open questions are not applicable (null),
/// so they are left out of this term and its metrics.
/// </summary>
public sealed class AnatomicalPartialCredit : IRewardFunction
{
    private readonly IOptionSimilarity _similarity;
    private readonly AnswerExtractor _extractor;
    private readonly float _scale;

    /// <summary>Creates the reward.</summary>
    /// <param name="similarity">How alike two options are, in [0, 1].</param>
    /// <param name="scale">The most a wrong answer can earn (a wrong option identical to the answer would earn this).</param>
    public AnatomicalPartialCredit(IOptionSimilarity similarity, float scale = 0.5f)
    {
        _similarity = similarity;
        _scale = scale;
        _extractor = new AnswerExtractor(AnswerExtractionStrategy.TagLetter);
    }

    /// <inheritdoc />
    public string Name => "partial_credit";

    /// <inheritdoc />
    public IReadOnlyList<float?> Score(RewardBatch batch)
    {
        var scores = new float?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var sample = batch.Rows[i].Sample;
            if (!sample.IsMultipleChoice)
            {
                continue;
            }

            var answer = _extractor.Extract(batch.Completions[i], sample.Options);
            scores[i] = !answer.HasOption ? 0f
                : answer.Index == sample.CorrectIndex ? 1f
                : _scale * _similarity.Similarity(sample.Options[answer.Index], sample.Options[sample.CorrectIndex]);
        }

        return scores;
    }
}
