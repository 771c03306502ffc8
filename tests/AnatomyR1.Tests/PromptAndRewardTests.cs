using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using Xunit;

namespace AnatomyR1.Tests;

public sealed class PromptAndRewardTests
{
    private static VqaSample Sample(int correct = 1) => new()
    {
        Question = "What anatomy is at the top-left of the frame ?",
        Options = new[] { "Gallbladder", "Liver", "Gut", "Omentum" },
        CorrectIndex = correct,
        CorrectLetter = ((char)('A' + correct)).ToString(),
        Answer = new[] { "Gallbladder", "Liver", "Gut", "Omentum" }[correct],
    };

    [Fact]
    public void ConsistencyRewardsAnswersThatFollowTheReasoningWhetherRightOrWrong()
    {
        var row = new RewardRow(Sample(correct: 1));
        var completions = new[]
        {
            "<think> the gut is near; the top-left is liver, option b </think> <answer> b </answer>",   // follows, right
            "<think> the top-left is gut, option c </think> <answer>C</answer>",                          // follows, wrong
            "<think> the top-left is liver, option c </think> <answer>C</answer>",                        // lookup slip
            "<think> nothing named </think> <answer>B</answer>",                                          // names no option
            "<answer>B</answer>",                                                                         // no reasoning
        };
        var scores = new ConsistencyReward().Score(new RewardBatch(completions, completions.Select(_ => row).ToList()));
        Assert.Equal(new float?[] { 1, 1, 0, 0, 0 }, scores);
        Assert.Equal("consistency", new ConsistencyReward().Name);
        Assert.Equal(3, ConsistencyReward.LastNamedOption("gut then omentum", new[] { "Liver", "Gallbladder", "Gut", "Omentum" }));
        Assert.Equal(-1, ConsistencyReward.LastNamedOption("the livers", new[] { "Liver" }));
        var open = new RewardRow(new VqaSample { Question = "what?", Answer = "liver" });
        Assert.Null(new ConsistencyReward().Score(new RewardBatch(new[] { "<think>liver</think><answer>liver</answer>" }, new[] { open }))[0]);
    }

    [Fact]
    public void DefaultPromptHoldsQuestionOptionsAndFormat()
    {
        string prompt = new R1PromptBuilder().Build(Sample());
        Assert.StartsWith("<image>What anatomy is at the top-left of the frame ?\nOptions:\nA. Gallbladder\nB. Liver\nC. Gut\nD. Omentum\n", prompt, StringComparison.Ordinal);
        Assert.Contains("(A, B, C or D)", prompt, StringComparison.Ordinal);
        Assert.EndsWith("<think> ... </think> <answer>X</answer>", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void CustomTemplateIsUsedAndValidated()
    {
        var builder = new R1PromptBuilder(new R1PromptOptions { Template = "Q: {question} | {options} | pick {letters}", ImageToken = "" });
        Assert.Equal("Q: Which? | A. x\nB. y | pick A or B", builder.Build("Which?", new[] { "x", "y" }));
        Assert.Throws<ArgumentException>(() => new R1PromptBuilder(new R1PromptOptions { Template = "{question} only" }));
        Assert.Throws<ArgumentException>(() => new R1PromptBuilder().Build("Q", new[] { "only one" }));
    }

    [Theory]
    [InlineData("<think>reasoning</think> <answer>B</answer>", 1f)]
    [InlineData("  <think>\nmulti\nline\n</think>\n<answer>B</answer>\n", 1f)]
    [InlineData("<answer>B</answer>", 0f)]
    [InlineData("<think>x</think> <answer>B</answer> trailing", 0f)]
    [InlineData("preface <think>x</think><answer>B</answer>", 0f)]
    [InlineData("<think>x</think>", 0f)]
    public void FormatReward(string completion, float expected)
    {
        var batch = new RewardBatch(new[] { completion }, new[] { new RewardRow(Sample()) });
        Assert.Equal(expected, new FormatReward().Score(batch)[0]);
    }

    [Fact]
    public void AccuracyRewardUsesTheExtractionStrategy()
    {
        var rows = Enumerable.Repeat(new RewardRow(Sample(1)), 4).ToArray();
        string[] completions = { "<answer>B</answer>", "<answer>Liver</answer>", "<answer>A</answer>", "no tag" };
        Assert.Equal(new float?[] { 1, 1, 0, 0 }, new AccuracyReward(AnswerExtractionStrategy.OptionText).Score(new RewardBatch(completions, rows)));
        Assert.Equal(new float?[] { 1, 0, 0, 0 }, new AccuracyReward(AnswerExtractionStrategy.TagLetter).Score(new RewardBatch(completions, rows)));
    }

    [Fact]
    public void AccuracyRewardOnOpenQuestions()
    {
        var open = new RewardRow(new VqaSample { Question = "What?", Answer = "abdominal_wall_cavity" });
        var batch = new RewardBatch(new[] { "<answer>Abdominal Wall Cavity</answer>", "<answer>liver</answer>" }, new[] { open, open });
        Assert.Equal(new float?[] { 1, 0 }, new AccuracyReward().Score(batch));
    }

    [Fact]
    public void WeightedTotalsSkipNotApplicableScores()
    {
        var rows = Enumerable.Repeat(new RewardRow(Sample(1)), 3).ToArray();
        string[] completions = { "<think>a</think> <answer>B</answer>", "<answer>B</answer>", "<think>a</think> <answer>C</answer>" };
        var lengthPenalty = DelegateRewardFunction.PerCompletion("short", (c, _) => c.Length > 30 ? null : -0.5f);
        var rewards = WeightedRewards.Default().Add(lengthPenalty, 2f);
        var scores = rewards.Score(new RewardBatch(completions, rows));

        // accuracy + format + 2·short (short only applies to the 18-character completion).
        Assert.Equal(new[] { 2f, 1f - 1f, 1f }, scores.Total);
        Assert.Equal(new float?[] { null, -0.5f, null }, scores.PerFunction["short"]);
        var (mean, std) = scores.Stats("accuracy");
        Assert.Equal(2.0 / 3, mean, 12);
        Assert.Equal(Math.Sqrt(2.0 / 9), std, 12);
        Assert.True(double.IsNaN(new RewardScores(new float[1], new Dictionary<string, float?[]> { ["x"] = new float?[] { null } }).Stats("x").Mean));
    }

    [Fact]
    public void BadRewardFunctionsAreCaught()
    {
        var rows = new[] { new RewardRow(Sample()) };
        var tooFew = new DelegateRewardFunction("few", _ => Array.Empty<float?>());
        var nan = DelegateRewardFunction.PerCompletion("nan", (_, _) => float.NaN);
        Assert.Throws<InvalidOperationException>(() => new WeightedRewards().Add(tooFew).Score(new RewardBatch(new[] { "x" }, rows)));
        Assert.Throws<InvalidOperationException>(() => new WeightedRewards().Add(nan).Score(new RewardBatch(new[] { "x" }, rows)));
        Assert.Throws<ArgumentException>(() => WeightedRewards.Default().Add(new FormatReward()));
        Assert.Throws<ArgumentException>(() => new RewardBatch(new[] { "a", "b" }, rows));
    }
}
