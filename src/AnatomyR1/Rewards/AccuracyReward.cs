using AnatomyR1.Prompts;

namespace AnatomyR1.Rewards;

/// <summary>
/// <c>accuracy</c>: 1 when the option extracted from the completion is the correct one, else 0. For open questions
/// (no options) the <c>&lt;answer&gt;</c> content is compared with the answer text (case, spaces and underscores
/// ignored).
/// </summary>
public sealed class AccuracyReward : IRewardFunction
{
    private readonly AnswerExtractor _extractor;

    /// <summary>Creates the reward.</summary>
    /// <param name="strategy">How the answer is read; default <see cref="AnswerExtractionStrategy.OptionText"/>.</param>
    public AccuracyReward(AnswerExtractionStrategy strategy = AnswerExtractionStrategy.OptionText)
    {
        _extractor = new AnswerExtractor(strategy);
    }

    /// <inheritdoc />
    public string Name => "accuracy";

    /// <inheritdoc />
    public IReadOnlyList<float?> Score(RewardBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var scores = new float?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var sample = batch.Rows[i].Sample;
            scores[i] = IsCorrect(batch.Completions[i], sample) ? 1f : 0f;
        }

        return scores;
    }

    private bool IsCorrect(string completion, Data.VqaSample sample)
    {
        if (sample.IsMultipleChoice)
        {
            return _extractor.Extract(completion, sample.Options).Index == sample.CorrectIndex;
        }

        string? content = AnswerExtractor.AnswerTagContent(completion);
        return content is not null && Data.OptionChecks.Key(content) == Data.OptionChecks.Key(sample.Answer);
    }
}
