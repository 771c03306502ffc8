using AnatomyR1.Augmentation;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Synthetic;
using AnatomyR1.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>A synthetic dataset of 1,000 records written once for the augmentation tests.</summary>
public sealed class ThousandSyntheticRecords : IDisposable
{
    public ThousandSyntheticRecords()
    {
        Folder = Path.Combine(Path.GetTempPath(), "anatomyr1-gdqa-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(Folder, new SyntheticDatasetOptions { Count = 1000, Seed = 17 });
        Samples = new[] { "train", "val", "test" }.SelectMany(s => VqaDataLoader.Load(Path.Combine(Folder, s + ".json")).Samples).ToList();
    }

    public string Folder { get; }

    public IReadOnlyList<VqaSample> Samples { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>GDQA: parsing, every generator keeps the answer (proven on scene graphs), permutation, determinism, the estimator.</summary>
public sealed class AugmentationTests : IClassFixture<ThousandSyntheticRecords>
{
    private readonly ThousandSyntheticRecords _data;

    public AugmentationTests(ThousandSyntheticRecords data) => _data = data;

    public static TheoryData<string> Generators => new() { "scene-graph", "rephrase", "relation-synonym", "permute", "all" };

    [Theory]
    [MemberData(nameof(Generators))]
    public void EveryGeneratorKeepsTheAnswerOnTheSceneGraph(string generator)
    {
        var options = new GroupDiversityOptions
        {
            VariantCount = 6, Difficulty = DifficultySelection.All, Seed = 3,
            SceneGraphReferences = generator is "scene-graph" or "all", Rephrase = generator is "rephrase" or "all",
            RelationSynonyms = generator is "relation-synonym" or "all", PermuteOptions = generator is "permute" or "all",
        };
        var augmenter = new QuestionAugmenter(options);
        var scenes = new SceneGraphFiles();
        Assert.True(_data.Samples.Count >= 1000);
        int variants = 0, augmented = 0;
        foreach (var sample in _data.Samples)
        {
            var scene = scenes.For(sample.ImagePath) ?? throw new InvalidOperationException($"no scene graph for {sample.ImagePath}");
            var result = augmenter.Augment(sample);
            Assert.Equal(sample.Question, result.Variants[0].Question);
            augmented += result.Status == AugmentationStatus.Augmented ? 1 : 0;
            foreach (var v in result.Variants.Skip(1))
            {
                variants++;
                Assert.StartsWith(generator == "all" ? string.Empty : generator, v.Generator, StringComparison.Ordinal);
                Assert.Equal(sample.Options.Order(), v.Options.Order());
                var parsed = SsgQuestionParser.Parse(v.Question) ?? throw new InvalidOperationException($"variant '{v.Question}' does not parse");
                var spec = ParsedQuestionSemantics.ToSpec(parsed) ?? throw new InvalidOperationException($"variant '{v.Question}' cannot be read on a scene");
                var fits = spec.Resolve(scene, out string? problem);
                Assert.True(problem is null && fits.Count == 1, $"'{v.Question}' on {scene.SceneId}: {problem ?? fits.Count + " objects fit"}");
                Assert.Equal(sample.Answer, fits[0].Class);
                Assert.Equal(sample.Answer, v.Options[v.CorrectIndex]);
            }
        }

        // Synthetic questions always parse and every generator finds something for most of them.
        Assert.True(augmented > (generator == "relation-synonym" ? 200 : 900), $"{generator}: only {augmented} of {_data.Samples.Count} rows augmented");
        Assert.True(variants >= augmented);
    }

    [Fact]
    public void SceneGraphReferencesReachTheTargetThroughOtherExpressionsFirst()
    {
        var augmenter = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, PermuteOptions = false });
        int otherFamily = 0, total = 0;
        foreach (var sample in _data.Samples.Take(200))
        {
            var result = augmenter.Augment(sample);
            var own = QuestionFamilyClassifier.Classify(sample.Question);
            foreach (var v in result.Variants.Skip(1).Where(v => v.Generator == "scene-graph"))
            {
                total++;
                otherFamily += QuestionFamilyClassifier.Classify(v.Question) != own ? 1 : 0;
            }
        }

        Assert.True(total > 400, $"{total} scene-graph variants");
        Assert.True(otherFamily > total * 0.8, $"{otherFamily} of {total} scene-graph variants use another family");
    }

    [Fact]
    public void PermutationRemapsTheCorrectLetter()
    {
        var options = new[] { "Liver", "Gut", "Omentum", "Gallbladder" };
        var random = new Random(1);
        for (int correct = 0; correct < 4; correct++)
        {
            for (int trial = 0; trial < 50; trial++)
            {
                var (permuted, index) = QuestionAugmenter.Permute(options, correct, random);
                Assert.Equal(options[correct], permuted[index]);
                Assert.Equal(options.Order(), permuted.Order());
                Assert.NotEqual(options, permuted);
            }
        }

        var variant = new QuestionVariant("q", new[] { "Gut", "Liver" }, 1, "permute");
        Assert.Equal("B", variant.CorrectLetter);
        var sample = variant.ToSample(new VqaSample { SampleId = "s", Question = "p", Options = new[] { "Liver", "Gut" }, CorrectIndex = 0, Answer = "Liver", AnswerClass = "Liver" });
        Assert.Equal(("B", "Liver", 1), (sample.CorrectLetter, sample.Answer, sample.CorrectIndex));
    }

    [Fact]
    public void VariantsAreDeterministicPerSeedAndIndependentOfRowOrder()
    {
        var a = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, Seed = 5 });
        var b = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, Seed = 5 });
        var c = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All, Seed = 6 });
        var rows = _data.Samples.Take(40).ToList();
        var forward = rows.Select(s => a.Augment(s).Variants).ToList();
        var backward = Enumerable.Reverse(rows).Select(s => b.Augment(s).Variants).Reverse().ToList();
        Assert.Equal(Flatten(forward), Flatten(backward));
        Assert.NotEqual(Flatten(forward), Flatten(rows.Select(s => c.Augment(s).Variants).ToList()));

        static List<string> Flatten(List<IReadOnlyList<QuestionVariant>> all) =>
            all.SelectMany(v => v).Select(v => v.Question + "|" + string.Join(",", v.Options) + "|" + v.CorrectIndex).ToList();
    }

    [Fact]
    public void UnparsedQuestionsAreLeftAloneAndReported()
    {
        var augmenter = new QuestionAugmenter(new GroupDiversityOptions { Difficulty = DifficultySelection.All });
        var odd = new VqaSample { SampleId = "omni-1", Question = "Which organ does this CT slice mainly show?", Options = new[] { "Liver", "Kidney" }, CorrectIndex = 0, Answer = "Liver" };
        var result = augmenter.Augment(odd);
        Assert.Equal(AugmentationStatus.Unparsed, result.Status);
        Assert.Single(result.Variants);
        Assert.Equal(odd.Question, result.Variants[0].Question);
        var open = new VqaSample { SampleId = "open", Question = "What is the red anatomy?", Answer = "gut" };
        Assert.Equal(AugmentationStatus.NotMultipleChoice, augmenter.Augment(open).Status);
    }

    [Fact]
    public void ParserReadsTheSsgFormsAndTemplatesRenderThemBack()
    {
        foreach (string q in new[]
        {
            "What anatomy is at the top-left of the frame ?",
            "What is the white top-mid anatomy?",
            "What is the name of the anatomy within the red gut object?",
            "What is the name of the bottom-mid anatomy that is within the grasper object?",
            "What name is the anatomy that is both left of the brown thing and on the right side of the silver grasper instrument?",
            "What is the name of the thing that is both above the bottom-mid grasper thing and left of the brown top-mid anatomy?",
            "There is an anatomy to the left of the gut anatomy; what is its name?",
        })
        {
            var parsed = SsgQuestionParser.Parse(q);
            Assert.NotNull(parsed);
            Assert.True(parsed!.Template >= 0, $"no template reproduces '{q}'");
            Assert.Equal(q, QuestionTemplates.Render(parsed, parsed.Template));
        }

        var twoHop = SsgQuestionParser.Parse("What name is the anatomy that is both left of the brown thing and on the right side of the silver grasper instrument?")!;
        Assert.Equal(QuestionShape.Relational, twoHop.Shape);
        Assert.Equal("anatomy", twoHop.Target);
        Assert.Equal(new[] { new ParsedRelation("left of", "brown thing"), new ParsedRelation("on the right side of", "silver grasper instrument") }, twoHop.Relations);
        Assert.Null(SsgQuestionParser.Parse("How many instruments are there?"));
        Assert.Null(SsgQuestionParser.Parse("What is the name of the anatomy above the grasper and?"));
    }

    [SharedDataFact]
    public void PublishedQuestionsParseAndEveryRephrasingKeepsTheFamilyShape()
    {
        var samples = VqaDataLoader.Load(TestData.GrpoJson).Samples.Concat(VqaDataLoader.Load(TestData.AscJson).Samples).ToList();
        int parsed = 0, reproduced = 0;
        foreach (var s in samples)
        {
            if (SsgQuestionParser.Parse(s.Question) is not { } p)
            {
                continue;
            }

            parsed++;
            reproduced += p.Template >= 0 ? 1 : 0;
            for (int t = 0; t < QuestionTemplates.Count(p.Shape, p.Relations.Count); t++)
            {
                var again = SsgQuestionParser.Parse(QuestionTemplates.Render(p, t));
                Assert.NotNull(again);
                Assert.Equal(p.Shape, again!.Shape);
                Assert.Equal(p.Target, again.Target);
                Assert.Equal(p.Relations, again.Relations);
            }
        }

        Assert.True(parsed >= 1990, $"{parsed} of {samples.Count} published questions parsed");
        Assert.True(reproduced >= parsed - 5, $"{reproduced} of {parsed} reproduced by a template");
    }

    [Fact]
    public void EstimatorAugmentsRowsAboveTheQuantileAndRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(_data.Samples.Take(60));
        var pipeline = ml.AnatomyR1().AnatomicalSimilarity(ClassSimilarityTable.SyntheticVisual())
            .Append(ml.AnatomyR1().GroupDiversityAugment(variantCount: 3, quantile: 0.5, seed: 2));
        var model = pipeline.Fit(data);
        var output = model.Transform(data);
        var threshold = model.LastTransformer.Threshold;
        var scores = output.GetColumn<float>(VqaColumns.OptionSimilarity).ToArray();
        var status = output.GetColumn<string>(GroupDiversityColumns.AugmentationStatus).ToArray();
        var questions = output.GetColumn<string[]>(GroupDiversityColumns.VariantQuestions).ToArray();
        var options = output.GetColumn<string[]>(GroupDiversityColumns.VariantOptions).ToArray();
        var correct = output.GetColumn<int[]>(GroupDiversityColumns.VariantCorrectIndices).ToArray();
        var prompts = output.GetColumn<string[]>(GroupDiversityColumns.VariantPrompts).ToArray();
        for (int i = 0; i < scores.Length; i++)
        {
            bool difficult = scores[i] >= threshold;
            Assert.Equal(difficult ? nameof(AugmentationStatus.Augmented) : nameof(AugmentationStatus.NotDifficult), status[i]);
            Assert.Equal(difficult ? 3 : 1, questions[i].Length);
            var variants = GroupDiversityColumns.Read(questions[i], options[i], correct[i]);
            Assert.All(variants, v => Assert.Equal(_data.Samples[i].Answer, v.Options[v.CorrectIndex]));
            Assert.Contains(variants[0].Question, prompts[i][0]);
        }

        Assert.InRange(status.Count(s => s == nameof(AugmentationStatus.Augmented)), 25, 40);

        using var dir = new TempDir();
        string folder = Path.Combine(dir.Path, "m");
        AnatomyR1Model.Save(ml, model, data.Schema, folder);
        var loaded = AnatomyR1Model.Load(ml, folder, out _).Transform(data);
        Assert.Equal(questions, loaded.GetColumn<string[]>(GroupDiversityColumns.VariantQuestions).ToArray());
        Assert.Equal(options, loaded.GetColumn<string[]>(GroupDiversityColumns.VariantOptions).ToArray());

        var byPredicate = ml.AnatomyR1().GroupDiversityAugment(new GroupDiversityOptions { Difficulty = DifficultySelection.Predicate, Predicate = s => s.Answer == "Liver" }).Fit(data);
        Assert.Throws<InvalidOperationException>(() => AnatomyR1Model.Save(ml, byPredicate, data.Schema, Path.Combine(dir.Path, "p")));
        var missing = Assert.Throws<ArgumentException>(() => ml.AnatomyR1().GroupDiversityAugment().Fit(data));
        Assert.Contains("OptionSimilarity", missing.Message);
        Assert.Throws<ArgumentException>(() => new GroupDiversityOptions { VariantCount = 1 }.Validate());
    }
}
