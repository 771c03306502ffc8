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
    [InlineData("What imaging modality was used for this image?", QuestionFamily.Other)]
    public void Classifies(string question, QuestionFamily expected) => Assert.Equal(expected, QuestionFamilyClassifier.Classify(question));

    [Theory]
    [InlineData("What is the top-left anatomy?", 0)]
    [InlineData("What is left of the liver and to the right of the gut?", 2)]
    [InlineData("What is on the right side of the hook?", 1)]
    public void CountsRelations(string question, int expected) => Assert.Equal(expected, QuestionFamilyClassifier.CountRelations(question));
}
