using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// What sampling can reach that greedy decoding does not — the headroom reinforcement learning can turn into greedy
/// accuracy: k completions per question at temperature 1, scored with the Med-R1 letter rule.
/// </summary>
/// <param name="Count">Questions.</param>
/// <param name="K">Completions per question.</param>
/// <param name="SampledAccuracy">Share of all completions that answer right (accuracy of one sample at T = 1).</param>
/// <param name="MajorityAccuracy">Share of questions whose most frequent answer (ties: the one sampled first) is right (maj@k).</param>
/// <param name="PassAtK">Share of questions with at least one right completion (pass@k).</param>
public sealed record PolicyHeadroom(int Count, int K, double SampledAccuracy, double MajorityAccuracy, double PassAtK)
{
    /// <summary>Per question: whether its majority answer was right (for paired comparisons).</summary>
    public IReadOnlyList<bool> MajorityCorrect { get; init; } = Array.Empty<bool>();

    /// <summary>Samples <paramref name="k"/> completions per question and scores them.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="samples">Multiple-choice samples with images.</param>
    /// <param name="k">Completions per question (at least 1).</param>
    /// <param name="seed">Sampling seed (batch i samples with seed + i).</param>
    /// <param name="questionsPerBatch">Questions per generation call (each expanded k ways from a shared prefix).</param>
    /// <param name="maxNewTokens">Completion length limit.</param>
    /// <returns>The headroom metrics.</returns>
    public static PolicyHeadroom Run(IVisionLanguagePolicy policy, IReadOnlyList<VqaSample> samples, int k = 8, int seed = 0, int questionsPerBatch = 8, int maxNewTokens = 80)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(questionsPerBatch, 1);
        var extractor = new AnswerExtractor(AnswerExtractionStrategy.TagLetter);
        long right = 0;
        int majority = 0, pass = 0;
        var majorityCorrect = new bool[samples.Count];
        policy.SetTraining(false);
        for (int start = 0, batch = 0; start < samples.Count; start += questionsPerBatch, batch++)
        {
            using var scope = NewDisposeScope();
            var part = samples.Skip(start).Take(questionsPerBatch).ToList();
            using var images = policy.ImageProcessor.Collate(part.Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath!))).ToList(), policy.Device);
            using var prompts = policy.EncodePrompts(part.Select(s => policy.FormatPrompt(s.Question, s.Options)).ToList());
            using var result = policy.Generate(images, prompts, new GenerationOptions { Temperature = 1, NumReturnSequences = k, MaxNewTokens = maxNewTokens, Seed = seed + batch });
            for (int q = 0; q < part.Count; q++)
            {
                var votes = new List<int>();
                int correct = 0;
                for (int j = 0; j < k; j++)
                {
                    int answer = extractor.Extract(result.Texts[(q * k) + j], part[q].Options).Index;
                    correct += answer == part[q].CorrectIndex ? 1 : 0;
                    if (answer >= 0)
                    {
                        votes.Add(answer);
                    }
                }

                right += correct;
                pass += correct > 0 ? 1 : 0;
                int top = votes.Count == 0 ? -1 : votes.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => votes.IndexOf(g.Key)).First().Key;
                majorityCorrect[start + q] = top >= 0 && top == part[q].CorrectIndex;
                majority += majorityCorrect[start + q] ? 1 : 0;
            }
        }

        double n = Math.Max(1, samples.Count);
        return new PolicyHeadroom(samples.Count, k, right / (n * k), majority / n, pass / n) { MajorityCorrect = majorityCorrect };
    }
}
