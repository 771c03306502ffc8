using System.Text.RegularExpressions;
using AnatomyR1.Prompts;

namespace AnatomyR1.Rewards;

/// <summary>
/// <c>consistency</c>: 1 when the option chosen in <c>&lt;answer&gt;</c> is the option the <c>&lt;think&gt;</c> block
/// names last, 0 when it names another option, none, or the completion has no think block or no readable answer.
/// Not applicable (null) to open questions without options.
/// </summary>
/// <remarks>
/// An accuracy reward alone also pays a completion whose reasoning names the wrong option but whose letter happens
/// to be right (a one-in-four guess on four options), which teaches a small policy to stop copying its own
/// conclusion into the answer. Weighting this term in keeps the answer tied to the reasoning; it rewards agreement
/// only, never the correct option, so it cannot leak the label.
/// </remarks>
public sealed partial class ConsistencyReward : IRewardFunction
{
    private readonly AnswerExtractor _extractor;

    /// <summary>Creates the reward.</summary>
    /// <param name="strategy">How the answer is read; default <see cref="AnswerExtractionStrategy.TagLetter"/>.</param>
    public ConsistencyReward(AnswerExtractionStrategy strategy = AnswerExtractionStrategy.TagLetter)
    {
        _extractor = new AnswerExtractor(strategy);
    }

    /// <inheritdoc />
    public string Name => "consistency";

    /// <summary>The index of the option a think block names last (by the end of its last mention; longer names win ties).</summary>
    /// <param name="think">The think text.</param>
    /// <param name="options">The options.</param>
    /// <returns>The index, or −1 when none is named.</returns>
    public static int LastNamedOption(string think, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(think);
        ArgumentNullException.ThrowIfNull(options);
        int best = -1, bestEnd = -1;
        for (int i = 0; i < options.Count; i++)
        {
            string option = options[i].Trim();
            if (option.Length == 0)
            {
                continue;
            }

            foreach (Match m in Regex.Matches(think, @"(?<![\p{L}\p{N}])" + Regex.Escape(option) + @"(?![\p{L}\p{N}])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant))
            {
                int end = m.Index + m.Length;
                if (end > bestEnd || (end == bestEnd && best >= 0 && option.Length > options[best].Trim().Length))
                {
                    best = i;
                    bestEnd = end;
                }
            }
        }

        return best;
    }

    /// <inheritdoc />
    public IReadOnlyList<float?> Score(RewardBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var scores = new float?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var options = batch.Rows[i].Sample.Options;
            if (options.Length == 0)
            {
                scores[i] = null;
                continue;
            }

            var think = Think().Match(batch.Completions[i]);
            int named = think.Success ? LastNamedOption(think.Groups[1].Value, options) : -1;
            int answered = _extractor.Extract(batch.Completions[i], options).Index;
            scores[i] = named >= 0 && answered == named ? 1f : 0f;
        }

        return scores;
    }

    [GeneratedRegex(@"<think>(.*?)</think>", RegexOptions.Singleline)]
    private static partial Regex Think();
}
