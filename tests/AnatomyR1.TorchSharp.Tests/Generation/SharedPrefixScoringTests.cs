using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests.Generation;

/// <summary>
/// Scoring with a shared prefix (each distinct image + prompt encoded once, its rows' completions run against the
/// cached prefix) gives the log-probabilities, entropies and parameter gradients of separate full passes, on a batch
/// shaped like a GRPO micro-batch: two groups of three completions of one prompt, a GDQA-style group whose rows
/// answer two question forms, and completions of different lengths.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SharedPrefixScoringTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("built-in")]
    [InlineData("qwen-tiny")]
    public void SharedPrefixScoresAndGradientsEqualSeparatePasses(string policyName)
    {
        using var data = new GenerationTestData(20, 6);
        var samples = data.Samples;
        using var policy = GenerationTestData.Policy(policyName, qwenSeed: 5);
        var prepared = samples.Take(3).Select(s => policy.ImageProcessor.Prepare(PolicyImage.FromFile(s.ImagePath))).ToList();
        // Rows: group 0 (sample 0 ×3), group 1 (sample 1 ×3), group 2 (sample 2: two rows of its question, one of
        // another question form on the same image).
        var rowImages = new[] { 0, 0, 0, 1, 1, 1, 2, 2, 2 }.Select(i => prepared[i]).ToList();
        var prompts = new[] { 0, 0, 0, 1, 1, 1, 2, 2 }.Select(i => policy.FormatPrompt(samples[i])).ToList();
        prompts.Add(policy.FormatPrompt("Which anatomy is the largest in the frame?", samples[2].Options));
        var completions = Enumerable.Range(0, 9).Select(r => string.Join(' ', samples[r % 3].TargetCompletion.Split(' ').Take(4 + (3 * r)))).ToList();
        using var images = policy.ImageProcessor.Collate(rowImages, policy.Device);
        using var promptBatch = policy.EncodePrompts(prompts);
        using var completionBatch = policy.EncodeCompletions(completions);
        var plan = SharedPrefixPlan.Of(images.Images, promptBatch);
        Assert.NotNull(plan);
        Assert.Equal(4, plan!.UniqueCount);

        manual_seed(3);
        using var weights = rand(completionBatch.Ids.shape);
        var (sharedLogProbs, sharedEntropy, sharedGrads) = Score(policy, images, promptBatch, completionBatch, weights, share: true);
        var (separateLogProbs, separateEntropy, separateGrads) = Score(policy, images, promptBatch, completionBatch, weights, share: false);
        double logProbGap = (sharedLogProbs - separateLogProbs).abs().max().item<float>();
        double entropyGap = (sharedEntropy - separateEntropy).abs().max().item<float>();
        double gradientGap = 0, gradientScale = 0;
        foreach (var (name, separate) in separateGrads)
        {
            gradientGap = Math.Max(gradientGap, (sharedGrads[name] - separate).abs().max().item<float>());
            gradientScale = Math.Max(gradientScale, separate.abs().max().item<float>());
        }

        output.WriteLine($"{policyName}: {plan.UniqueCount} prefixes for 9 rows; max |Δ log p| {logProbGap:E2}, max |Δ entropy| {entropyGap:E2}, " +
            $"max |Δ gradient| {gradientGap:E2} (largest gradient {gradientScale:E2}) over {separateGrads.Count} parameters");
        Assert.True(sharedLogProbs.abs().sum().item<float>() > 1, "the completions were scored");
        Assert.True(logProbGap < 1e-4, $"log-probabilities differ by {logProbGap}");
        Assert.True(entropyGap < 1e-4, $"entropies differ by {entropyGap}");
        Assert.True(gradientScale > 0, "gradients flowed");
        Assert.True(gradientGap <= 1e-4 * Math.Max(1, gradientScale), $"gradients differ by {gradientGap} (largest {gradientScale})");
        Assert.Equal(separateGrads.Count, sharedGrads.Count);

        // Without gradient (the reference pass), scoring runs with the fused projections: the same values.
        Tensor noGradLogProbs;
        using (no_grad())
        {
            noGradLogProbs = policy.CompletionLogProbs(images, promptBatch, completionBatch, temperature: 0.9);
        }

        double noGradGap = (noGradLogProbs - sharedLogProbs).abs().max().item<float>();
        output.WriteLine($"{policyName}: max |Δ log p| without gradient (fused projections) {noGradGap:E2}");
        Assert.True(noGradGap <= 1e-5, $"scoring without gradient differs by {noGradGap}");
    }

    private static (Tensor LogProbs, Tensor Entropy, Dictionary<string, Tensor> Gradients) Score(IVisionLanguagePolicy policy, ImageBatch images, TokenBatch prompts, TokenBatch completions, Tensor weights, bool share)
    {
        switch (policy)
        {
            case TinyVlmPolicy tiny:
                tiny.ShareScoringPrefix = share;
                break;
            case QwenVLPolicy qwen:
                qwen.ShareScoringPrefix = share;
                break;
        }

        var parameters = policy.AdapterModel!.named_parameters().ToList();
        foreach (var (_, p) in parameters)
        {
            p.grad?.zero_();
        }

        var (logProbs, entropy) = policy.CompletionLogProbsAndEntropy(images, prompts, completions, temperature: 0.9);
        (logProbs * weights).sum().backward();
        var gradients = parameters.Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return (logProbs.detach(), entropy.detach(), gradients);
    }
}
