using System.Globalization;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using AnatomyR1.Synthetic;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Greedy evaluation of a policy on multiple-choice samples: answer accuracy, format compliance, and — for
/// synthetic-style traces — how often the trace names the right anatomy and how often the answer letter agrees
/// with the anatomy the trace named (separating perception errors from lookup errors).
/// </summary>
/// <param name="Count">Samples evaluated.</param>
/// <param name="Accuracy">Share answered correctly (Med-R1 letter rule).</param>
/// <param name="FormatCompliance">Share in the R1 format.</param>
/// <param name="TraceNamesAnswer">Share whose trace names the correct anatomy.</param>
/// <param name="LetterAgreesWithTrace">Among traces naming an option class, share whose answer letter is that class's letter.</param>
/// <param name="Completions">The generated completions, in sample order.</param>
public sealed record PolicyEvaluation(int Count, double Accuracy, double FormatCompliance, double TraceNamesAnswer, double LetterAgreesWithTrace, IReadOnlyList<string> Completions)
{
    /// <summary>Whether each sample was answered correctly (Med-R1 letter rule), in sample order.</summary>
    public IReadOnlyList<bool> Correct { get; init; } = Array.Empty<bool>();

    /// <summary>Evaluates with greedy decoding.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="samples">Multiple-choice samples with images.</param>
    /// <param name="batchSize">Prompts per generation batch.</param>
    /// <param name="maxNewTokens">Completion length limit.</param>
    /// <returns>The evaluation.</returns>
    public static PolicyEvaluation Run(IVisionLanguagePolicy policy, IReadOnlyList<VqaSample> samples, int batchSize = 64, int maxNewTokens = 80)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(samples);
        var completions = BatchedCompletion.Run(policy, samples.Select(s => (s.ImagePath, policy.FormatPrompt(s.Question, s.Options))).ToList(),
            new GenerationOptions { Temperature = 0, MaxNewTokens = maxNewTokens }, batchSize);

        var extractor = new AnswerExtractor(AnswerExtractionStrategy.TagLetter);
        int correct = 0, formatted = 0, named = 0, agreeing = 0, withLookup = 0;
        var right = new bool[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            var answer = extractor.Extract(completions[i], s.Options);
            right[i] = answer.Index == s.CorrectIndex;
            correct += right[i] ? 1 : 0;
            formatted += FormatReward.Matches(completions[i]) ? 1 : 0;
            var trace = TraceAnalysis.Read(completions[i]);
            named += trace.NamedClass == s.Answer ? 1 : 0;
            int namedIndex = trace.NamedClass is null ? -1 : Array.IndexOf(s.Options, trace.NamedClass);
            if (namedIndex >= 0)
            {
                withLookup++;
                agreeing += answer.Index == namedIndex ? 1 : 0;
            }
        }

        double n = Math.Max(1, samples.Count);
        return new PolicyEvaluation(samples.Count, correct / n, formatted / n, named / n, withLookup == 0 ? 0 : (double)agreeing / withLookup, completions) { Correct = right };
    }

    /// <summary>One line for logs.</summary>
    /// <returns>The summary.</returns>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"held-out n={Count}: accuracy {Accuracy:P1}, format {FormatCompliance:P1}, trace names the answer {TraceNamesAnswer:P1}, letter agrees with trace {LetterAgreesWithTrace:P1}");
}
