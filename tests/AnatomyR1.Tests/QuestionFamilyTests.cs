using AnatomyR1.Testing;
using AnatomyR1.Data;
using Xunit;

namespace AnatomyR1.Tests;

public sealed class QuestionFamilyTests
{
    [Theory]
    [InlineData("What anatomy is at the top-left of the frame ?", QuestionFamily.Positional)]
    [InlineData("What anatomy is at the bottom-mid of the frame?", QuestionFamily.Positional)]
    [InlineData("What anatomy is at the None of the frame ?", QuestionFamily.Positional)]
    [InlineData("What is the red top-mid anatomy?", QuestionFamily.Attribute)]
    [InlineData("What is the top-left anatomy?", QuestionFamily.Attribute)]
    [InlineData("What is the yellow bottom-left anatomy?", QuestionFamily.Attribute)]
    [InlineData("What is the name of the anatomy above the red gut anatomy?", QuestionFamily.OneHop)]
    [InlineData("What is the name of the anatomy within the white hook thing?", QuestionFamily.OneHop)]
    [InlineData("What is the name of the red thing left of the bottom-mid cystic_plate anatomy?", QuestionFamily.OneHop)]
    [InlineData("What is the name of the top-mid anatomy that is to the left of the red cystic_plate anatomy?", QuestionFamily.OneHop)]
    [InlineData("What is the name of the anatomy that is within the gut thing and above the scissors object?", QuestionFamily.TwoHop)]
    [InlineData("What name is the anatomy that is both on the left side of the top-mid instrument and below the top-mid cystic_plate anatomy?", QuestionFamily.TwoHop)]
    [InlineData("There is a thing below the hook; what is it?", QuestionFamily.Rephrased)]
    [InlineData("There is a red anatomy to the left of the grasper; what name is it?", QuestionFamily.Rephrased)]
    [InlineData("There is an anatomy within the liver; what is its name?", QuestionFamily.Rephrased)]
    [InlineData("How many instruments are there?", QuestionFamily.Count)]
    [InlineData("Is there a grasper above the gallbladder?", QuestionFamily.Existence)]
    [InlineData("What is the name of the anatomy horizontal the brown anatomy?", QuestionFamily.OneHop)]
    [InlineData("What imaging modality was used for this image?", QuestionFamily.Other)]
    public void Classifies(string question, QuestionFamily expected) => Assert.Equal(expected, QuestionFamilyClassifier.Classify(question));

    [Theory]
    [InlineData("What is the top-left anatomy?", 0)]
    [InlineData("What is left of the liver and to the right of the gut?", 2)]
    [InlineData("What is on the right side of the hook?", 1)]
    public void CountsRelations(string question, int expected) => Assert.Equal(expected, QuestionFamilyClassifier.CountRelations(question));

    [SharedDataFact]
    public void ClassifierAndParserShareOneGrammarOnThePublishedRecords()
    {
        // Every published question the GDQA parser reads as relational gets the family its relation count implies.
        int relational = 0;
        foreach (string file in new[] { TestData.GrpoJson, TestData.AscJson })
        {
            foreach (var sample in VqaDataLoader.Load(file).Samples)
            {
                if (Augmentation.SsgQuestionParser.Parse(sample.Question) is { Shape: Augmentation.QuestionShape.Relational } parsed)
                {
                    relational++;
                    var family = QuestionFamilyClassifier.Classify(sample.Question);
                    Assert.Equal(parsed.Relations.Count, QuestionFamilyClassifier.CountRelations(sample.Question));
                    Assert.True(family is QuestionFamily.Rephrased || family == (parsed.Relations.Count >= 2 ? QuestionFamily.TwoHop : QuestionFamily.OneHop), $"{sample.Question}: {family}");
                }
            }
        }

        Assert.True(relational > 100, $"only {relational} relational questions parsed");
    }
}
