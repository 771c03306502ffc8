using AnatomyR1.Prompts;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>Answer extraction tables for each strategy, and the difflib ratio against values computed by CPython 3.11.</summary>
public sealed class AnswerExtractionTests
{
    private static readonly string[] Options = { "Gallbladder", "Liver", "Abdominal Wall Cavity", "Omentum" };

    [Theory]
    [InlineData("<think>top left is liver</think> <answer>B</answer>", 1)]
    [InlineData("<think>x</think><answer> c </answer>", 2)]
    [InlineData("<answer>D</answer> then <answer>A</answer>", 3)]
    [InlineData("<answer>E</answer>", -1)]
    [InlineData("<answer>Liver</answer>", -1)]
    [InlineData("<answer>B.</answer>", -1)]
    [InlineData("<answer>(B)</answer>", -1)]
    [InlineData("The answer is B", -1)]
    [InlineData("<answer>\nA\n</answer>", 0)]
    [InlineData("", -1)]
    public void TagLetter(string completion, int expected) =>
        Assert.Equal(expected, new AnswerExtractor(AnswerExtractionStrategy.TagLetter).Extract(completion, Options).Index);

    [Theory]
    [InlineData("<think>…</think> <answer>B</answer>", 1)]
    [InlineData("<answer>B.</answer>", 1)]
    [InlineData("<answer>(b)</answer>", 1)]
    [InlineData("<answer>B. Liver</answer>", 1)]
    [InlineData("<answer>Option C</answer>", 2)]
    [InlineData("<answer>Liver</answer>", 1)]
    [InlineData("<answer> abdominal_wall_cavity </answer>", 2)]
    [InlineData("<answer>ABDOMINAL  WALL CAVITY.</answer>", 2)]
    [InlineData("<answer>\"Omentum\"</answer>", 3)]
    [InlineData("<answer>Spleen</answer>", -1)]
    [InlineData("<answer>E</answer>", -1)]
    [InlineData("<answer>Bladder</answer>", -1)]
    [InlineData("Liver", -1)]
    [InlineData("<answer>Liver", -1)]
    [InlineData("<answer>\nGallbladder\n</answer>", 0)]
    public void OptionText(string completion, int expected) =>
        Assert.Equal(expected, new AnswerExtractor(AnswerExtractionStrategy.OptionText).Extract(completion, Options).Index);

    // Expected indices computed with CPython: max over difflib.SequenceMatcher(None, option, prediction).ratio().
    [Theory]
    [InlineData("<answer>the liver</answer>", 1)]
    [InlineData("<answer>gall bladder</answer>", 0)]
    [InlineData("<answer>abdominal cavity</answer>", 2)]
    [InlineData("omentum fat", 3)]
    [InlineData("<answer>B</answer>", 0)] // no character in common with any option: the first option wins, as in the official scorer
    [InlineData("", 0)]
    public void NearestOption(string completion, int expected) =>
        Assert.Equal(expected, new AnswerExtractor(AnswerExtractionStrategy.NearestOption).Extract(completion, Options).Index);

    [Theory]
    [InlineData("Liver", "Liver", 1.0)]
    [InlineData("Liver", "liver", 0.8)]
    [InlineData("Gallbladder", "The answer is gallbladder", 0.5555555555555556)]
    [InlineData("Cystic Plate", "cystic plate", 0.8333333333333334)]
    [InlineData("Abdominal Wall Cavity", "abdominal wall", 0.6857142857142857)]
    [InlineData("Omentum", "Gut", 0.2)]
    [InlineData("", "", 1.0)]
    [InlineData("abc", "", 0.0)]
    [InlineData("Chest CT", "CT of the chest", 0.43478260869565216)]
    [InlineData("Gut", "B", 0.0)]
    public void SequenceMatcherMatchesCPython(string a, string b, double expected) =>
        Assert.Equal(expected, SequenceMatcher.Ratio(a, b), 12);

    [Fact]
    public void SequenceMatcherAppliesDifflibsAutojunkOnLongSequences()
    {
        // CPython: 0.03076923076923077 and 0.0 (popular characters of a long b cannot start a match).
        Assert.Equal(0.03076923076923077, SequenceMatcher.Ratio("Liver", new string('x', 150) + "liver" + new string('y', 100)), 12);
        string longText = string.Concat(Enumerable.Repeat("The image shows the omentum, a fold of peritoneum ", 6));
        Assert.Equal(0.0, SequenceMatcher.Ratio("Omentum", longText), 12);
    }

    [Fact]
    public void ExtractedAnswerCarriesLetterAndText()
    {
        var answer = new AnswerExtractor().Extract("<think>a</think> <answer> D. Omentum </answer>", Options);
        Assert.Equal("D", answer.Letter);
        Assert.Equal("D. Omentum", answer.Text);
        Assert.True(answer.HasOption);
        Assert.Equal(string.Empty, new AnswerExtractor().Extract("nothing", Options).Letter);
    }
}
