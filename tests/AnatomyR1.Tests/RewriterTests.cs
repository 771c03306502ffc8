using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using Microsoft.ML;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>GDQA generators behind <see cref="IQuestionRewriter"/>: the built-ins are listed, user rewriters add forms and survive saving.</summary>
public sealed class RewriterTests
{
    private static VqaSample Sample(string question) => new()
    {
        SampleId = "s1", Question = question, Options = new[] { "Liver", "Gut", "Omentum" }, CorrectIndex = 1, Answer = "Gut", CorrectLetter = "B",
    };

    [Fact]
    public void BuiltInRewritersFollowTheOptionFlags()
    {
        var all = new QuestionAugmenter(new GroupDiversityOptions());
        Assert.Equal(new[] { "scene-graph", "rephrase", "relation-synonym" }, all.Rewriters.Select(r => r.Name));
        var some = new QuestionAugmenter(new GroupDiversityOptions { SceneGraphReferences = false, RelationSynonyms = false });
        Assert.Equal(new[] { "rephrase" }, some.Rewriters.Select(r => r.Name));
    }

    [Fact]
    public void AUserRewriterAugmentsQuestionsTheGrammarCannotParseAndIsSavedByType()
    {
        var options = new GroupDiversityOptions
        {
            VariantCount = 2, Difficulty = DifficultySelection.All, SceneGraphReferences = false, Rephrase = false, RelationSynonyms = false, PermuteOptions = false,
            Rewriters = { new PleaseRewriter() },
        };
        var augmenter = new QuestionAugmenter(options);
        var result = augmenter.Augment(Sample("Which organ is shown in this laparoscopic frame?"));
        Assert.Equal(AugmentationStatus.Augmented, result.Status);
        Assert.Equal(2, result.Variants.Count);
        Assert.Equal("Please answer: Which organ is shown in this laparoscopic frame?", result.Variants[1].Question);
        Assert.Equal("please", result.Variants[1].Generator);
        Assert.Equal(1, result.Variants[1].CorrectIndex);

        // Without a rewriter that applies, an unparsed question stays alone.
        var builtInOnly = new QuestionAugmenter(new GroupDiversityOptions { SceneGraphReferences = false, PermuteOptions = false }).Augment(Sample("Which organ is shown in this laparoscopic frame?"));
        Assert.Equal(AugmentationStatus.Unparsed, builtInOnly.Status);

        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { Sample("Which organ is shown in this laparoscopic frame?") });
        var transformer = ml.AnatomyR1().GroupDiversityAugment(options).Fit(data);
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-rewriter-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            ComponentStore.Save(transformer, folder);
            var loaded = ComponentStore.Load<GroupDiversityTransformer>(new ComponentLoadContext(folder, ml));
            Assert.Equal("Please answer: Which organ is shown in this laparoscopic frame?", loaded.Augment(Sample("Which organ is shown in this laparoscopic frame?"), float.NaN).Variants[1].Question);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        var unsaveable = ml.AnatomyR1().GroupDiversityAugment(new GroupDiversityOptions { Difficulty = DifficultySelection.All, Rewriters = { new PrefixRewriter("Tell me: ") } }).Fit(data);
        var ex = Assert.Throws<InvalidOperationException>(() => ComponentStore.Save(unsaveable, folder + "-2"));
        Assert.Contains("public parameterless constructor", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder + "-2"));
    }

    /// <summary>Prefixes the question with a polite request (the answer cannot change).</summary>
    public sealed class PleaseRewriter : IQuestionRewriter
    {
        public string Name => "please";

        public bool Preferred => false;

        public IEnumerable<string> Rewrite(QuestionRewriteContext context) => new[] { "Please answer: " + context.Sample.Question };
    }

    private sealed class PrefixRewriter : IQuestionRewriter
    {
        private readonly string _prefix;

        public PrefixRewriter(string prefix) => _prefix = prefix;

        public string Name => "prefix";

        public bool Preferred => false;

        public IEnumerable<string> Rewrite(QuestionRewriteContext context) => new[] { _prefix + context.Sample.Question };
    }
}
