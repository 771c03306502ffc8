using System.Text.Json;
using AnatomyR1.Data;
using AnatomyR1.Prompts;
using AnatomyR1.Rewards;
using AnatomyR1.Synthetic;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>One dataset shared by the synthetic tests (generation takes about a second).</summary>
public sealed class SyntheticFixture : IDisposable
{
    public SyntheticFixture()
    {
        Options = new SyntheticDatasetOptions { Count = 600, Seed = 7 };
        Folder = Path.Combine(Path.GetTempPath(), "anatomyr1-synth-" + Guid.NewGuid().ToString("N")[..8]);
        Summary = SyntheticDatasetWriter.Write(Folder, Options);
        Scenes = SyntheticDatasetGenerator.Generate(Options);
    }

    public SyntheticDatasetOptions Options { get; }

    public string Folder { get; }

    public SyntheticDatasetSummary Summary { get; }

    public IReadOnlyList<SyntheticScene> Scenes { get; }

    public IEnumerable<SyntheticRecord> Records => Scenes.SelectMany(s => s.Records);

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public sealed class SyntheticSceneTests : IClassFixture<SyntheticFixture>
{
    private readonly SyntheticFixture _data;

    public SyntheticSceneTests(SyntheticFixture data) => _data = data;

    [Fact]
    public void SameSeedAndOptionsGiveByteIdenticalFolders()
    {
        using var dir = new TempDir();
        string again = Path.Combine(dir.Path, "again");
        SyntheticDatasetWriter.Write(again, _data.Options);
        var files = Directory.GetFiles(_data.Folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_data.Folder, f)).Order().ToList();
        Assert.Equal(files, Directory.GetFiles(again, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(again, f)).Order().ToList());
        Assert.Equal(600 + 600 + 3 + 1, files.Count);   // images, scene graphs, three splits, the writer's marker
        foreach (string file in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(_data.Folder, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(again, file))), file);
        }
    }

    [Fact]
    public void OutputDoesNotDependOnParallelismButOnTheSeed()
    {
        var small = new SyntheticDatasetOptions { Count = 40, Seed = 7, Parallelism = 1 };
        var serial = SyntheticDatasetGenerator.Generate(small);
        small.Parallelism = 2;
        var parallel = SyntheticDatasetGenerator.Generate(small);
        Assert.Equal(serial.Select(s => Convert.ToHexString(s.Png)), parallel.Select(s => Convert.ToHexString(s.Png)));
        small.Parallelism = 0;
        Assert.Equal(serial.Select(s => s.Records[0].Completion), SyntheticDatasetGenerator.Generate(small).Select(s => s.Records[0].Completion));
        small.Seed = 8;
        Assert.NotEqual(serial.Select(s => s.Records[0].Question), SyntheticDatasetGenerator.Generate(small).Select(s => s.Records[0].Question));
    }

    [Fact]
    public void EveryWrittenQuestionIsProvenFromItsSceneGraphFile()
    {
        int checkedQuestions = 0;
        foreach (string file in Directory.GetFiles(Path.Combine(_data.Folder, "scenes")))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            var objects = root.GetProperty("objects").EnumerateArray().ToArray();
            var holds = root.GetProperty("relations").EnumerateArray()
                .Select(r => (r.GetProperty("subject").GetInt32(), r.GetProperty("relation").GetString()!, r.GetProperty("object").GetInt32()))
                .ToHashSet();
            foreach (var q in root.GetProperty("questions").EnumerateArray())
            {
                int target = q.GetProperty("target").GetInt32();
                var constraints = q.GetProperty("constraints").EnumerateArray()
                    .Select(c => (Relation: c.GetProperty("relation").GetString()!, Reference: c.GetProperty("reference").GetInt32(), Description: c.GetProperty("reference_description")))
                    .ToList();

                // Each reference description denotes exactly its reference.
                foreach (var c in constraints)
                {
                    Assert.Equal(new[] { c.Reference }, objects.Where(o => Fits(o, c.Description)).Select(o => o.GetProperty("id").GetInt32()));
                }

                // Exactly one object fits the target description and all relations: the target, an anatomy region.
                var fits = objects.Where(o => Fits(o, q.GetProperty("target_description"))
                    && constraints.All(c => holds.Contains((o.GetProperty("id").GetInt32(), c.Relation, c.Reference)))).ToList();
                var answer = Assert.Single(fits);
                Assert.Equal(target, answer.GetProperty("id").GetInt32());
                Assert.Equal("anatomy", answer.GetProperty("kind").GetString());

                // Exactly one option is the answer's class, and it is the marked one.
                var options = q.GetProperty("options").EnumerateArray().Select(o => o.GetString()!).ToList();
                string cls = answer.GetProperty("class").GetString()!;
                Assert.Equal(4, options.Distinct().Count());
                Assert.Single(options, o => o == cls);
                Assert.Equal(cls, options[q.GetProperty("solution").GetString()![0] - 'A']);
                checkedQuestions++;
            }
        }

        Assert.Equal(600, checkedQuestions);
    }

    private static bool Fits(JsonElement o, JsonElement description)
    {
        string kind = o.GetProperty("kind").GetString()!;
        string noun = description.GetProperty("noun").GetString()!;
        bool kindOk = noun switch
        {
            "anatomy" => kind == "anatomy",
            "instrument" or "none" => kind == "instrument",
            _ => true,
        };
        bool Same(string field, string objectField) =>
            !description.TryGetProperty(field, out var v) || v.GetString() == o.GetProperty(objectField).GetString();
        return kindOk && Same("class", "class") && Same("colour", "colour") && Same("cell", "cell");
    }

    [Fact]
    public void ClassesFamiliesAndTiersAreBalanced()
    {
        var records = _data.Records.ToList();
        Assert.All(records.GroupBy(r => r.Target.Class), g => Assert.Equal(100, g.Count()));
        Assert.All(records.GroupBy(r => r.Family), g => Assert.Equal(120, g.Count()));
        Assert.All(records.GroupBy(r => r.Tier), g => Assert.Equal(200, g.Count()));
        Assert.Equal(6, records.Select(r => r.Target.Class).Distinct().Count());
        Assert.Equal(5, records.Select(r => r.Family).Distinct().Count());

        // Answer letters are spread over A–D (within 30% of uniform).
        Assert.All(records.GroupBy(r => r.CorrectIndex), g => Assert.InRange(g.Count(), 105, 195));
    }

    [Fact]
    public void FamilyAndClassMixFollowTheWeights()
    {
        var options = new SyntheticDatasetOptions { Count = 120, Seed = 3 };
        options.FamilyWeights.Clear();
        options.FamilyWeights[QuestionFamily.Positional] = 1;
        options.FamilyWeights[QuestionFamily.TwoHop] = 2;
        options.ClassWeights[AnatomyClasses.Liver] = 0;
        var records = SyntheticDatasetGenerator.Generate(options).SelectMany(s => s.Records).ToList();
        Assert.Equal(40, records.Count(r => r.Family == QuestionFamily.Positional));
        Assert.Equal(80, records.Count(r => r.Family == QuestionFamily.TwoHop));
        Assert.DoesNotContain(records, r => r.Target.Class == AnatomyClasses.Liver);
        Assert.All(records.GroupBy(r => r.Target.Class), g => Assert.Equal(24, g.Count()));
    }

    [Fact]
    public void SplitsAreBySceneAndLoadBackWithoutErrors()
    {
        Assert.Equal(new Dictionary<string, int> { ["train"] = 480, ["val"] = 60, ["test"] = 60 }, _data.Summary.RecordsPerSplit);
        var all = new List<VqaSample>();
        var scenesBySplit = new Dictionary<string, HashSet<string>>();
        foreach (string split in new[] { "train", "val", "test" })
        {
            var result = VqaDataLoader.Load(Path.Combine(_data.Folder, split + ".json"), new VqaLoaderOptions { CheckImages = true });
            Assert.Empty(result.Report.Issues);
            all.AddRange(result.Samples);
            scenesBySplit[split] = result.Samples.Select(s => Path.GetFileNameWithoutExtension(s.ImagePath)).ToHashSet();
        }

        Assert.Equal(600, all.Count);
        Assert.Empty(scenesBySplit["train"].Intersect(scenesBySplit["test"]));
        Assert.Empty(scenesBySplit["train"].Intersect(scenesBySplit["val"]));

        var byQuestion = _data.Records.ToDictionary(r => (r.Scene.SceneId, r.Question));
        foreach (var sample in all)
        {
            var record = byQuestion[(Path.GetFileNameWithoutExtension(sample.ImagePath), sample.Question)];
            Assert.Equal(record.Target.Class, sample.Answer);
            Assert.Equal(record.CorrectIndex, sample.CorrectIndex);
            Assert.Equal(record.Completion, sample.TargetCompletion);
            Assert.Equal(record.Family.ToString(), sample.QuestionFamily);
            Assert.True(Path.IsPathRooted(sample.ImagePath));
        }
    }

    [Fact]
    public void TracesAreWellFormedCorrectAndEndWithTheLookup()
    {
        var records = _data.Records.ToList();
        var rows = records.Select(r => new RewardRow(new VqaSample { Options = r.Options.ToArray(), CorrectIndex = r.CorrectIndex, Answer = r.Target.Class })).ToList();
        var batch = new RewardBatch(records.Select(r => r.Completion).ToList(), rows);
        Assert.All(new FormatReward().Score(batch), s => Assert.Equal(1f, s));
        Assert.All(new AccuracyReward(AnswerExtractionStrategy.TagLetter).Score(batch), s => Assert.Equal(1f, s));
        Assert.All(records, r => Assert.EndsWith(
            $"the {r.Target.Cell.Name} is {AnatomyClasses.Words(r.Target.Class)}, option {r.Letter} </think> <answer>{r.Letter}</answer>", r.Completion, StringComparison.Ordinal));
    }

    [Fact]
    public void QuestionsReadAsTheirFamily()
    {
        Assert.All(_data.Records, r => Assert.Equal(r.Family, QuestionFamilyClassifier.Classify(r.Question)));
        Assert.Contains(_data.Records, r => r.Question.EndsWith("; what is its name?", StringComparison.Ordinal));
        Assert.Contains(_data.Records, r => r.Question.StartsWith("What anatomy is at the centre of the frame", StringComparison.Ordinal));
    }

    [Fact]
    public void TheOptionSetAloneDoesNotRevealTheAnswer()
    {
        // The best text-only guess from the option set (the most frequent answer of each set, learned on half the
        // records and scored on the other half) must stay near the 25% of a four-way guess.
        var records = _data.Records.ToList();
        string Key(SyntheticRecord r) => string.Join("|", r.Options.Order(StringComparer.Ordinal)) + "/" + r.Tier;
        var fit = records.Where((_, i) => i % 2 == 0).GroupBy(Key)
            .ToDictionary(g => g.Key, g => g.GroupBy(r => r.Target.Class).OrderByDescending(c => c.Count()).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key);
        var held = records.Where((_, i) => i % 2 == 1).ToList();
        double accuracy = held.Average(r => fit.TryGetValue(Key(r), out var guess) && guess == r.Target.Class ? 1.0 : 0.0);
        Assert.True(accuracy < 0.33, $"guessing from the option set alone is right {accuracy:P1} of the time");
    }

    [Fact]
    public void DistractorsSpanEasyToHard()
    {
        var byTier = _data.Records.GroupBy(r => r.Tier).ToDictionary(g => g.Key, g => g.Average(r => r.VisualSimilarityScore));
        Assert.True(byTier[DistractorTier.Easy] + 0.04 < byTier[DistractorTier.Mixed], $"easy {byTier[DistractorTier.Easy]:0.000} vs mixed {byTier[DistractorTier.Mixed]:0.000}");
        Assert.True(byTier[DistractorTier.Mixed] + 0.04 < byTier[DistractorTier.Hard], $"mixed {byTier[DistractorTier.Mixed]:0.000} vs hard {byTier[DistractorTier.Hard]:0.000}");
        var scores = _data.Records.Select(r => r.VisualSimilarityScore).ToList();
        Assert.InRange(scores.Min(), 0.0, 0.15);
        Assert.InRange(scores.Max(), 0.5, 1.0); // the hardest possible set: Cystic Plate against Liver, Gut, Abdominal Wall Cavity = 0.533
    }

    [Fact]
    public void PixelsShowTheIntendedSimilarities()
    {
        // Mean colour at each anatomy region's centre, per class, over the dataset's 64 px images.
        var sums = new Dictionary<string, (double R, double G, double B, int N)>();
        foreach (var scene in _data.Scenes.Take(300))
        {
            using var bitmap = SKBitmap.Decode(scene.Png);
            foreach (var d in scene.Layout.Drawn.Where(d => d.Object.Kind == ObjectKind.Anatomy))
            {
                var s = sums.GetValueOrDefault(d.Object.Class);
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        var c = bitmap.GetPixel(Math.Clamp((int)d.Centre.X + dx, 0, 63), Math.Clamp((int)d.Centre.Y + dy, 0, 63));
                        s = (s.R + c.Red, s.G + c.Green, s.B + c.Blue, s.N + 1);
                    }
                }

                sums[d.Object.Class] = s;
            }
        }

        double Distance(string a, string b)
        {
            var x = sums[a];
            var y = sums[b];
            return Math.Sqrt(Math.Pow((x.R / x.N) - (y.R / y.N), 2) + Math.Pow((x.G / x.N) - (y.G / y.N), 2) + Math.Pow((x.B / x.N) - (y.B / y.N), 2));
        }

        Assert.True(Distance(AnatomyClasses.Liver, AnatomyClasses.CysticPlate) < 0.5 * Distance(AnatomyClasses.Liver, AnatomyClasses.Omentum));
        Assert.True(Distance(AnatomyClasses.Gallbladder, AnatomyClasses.AbdominalWallCavity) < 0.5 * Distance(AnatomyClasses.Gallbladder, AnatomyClasses.Liver));
        Assert.True(Distance(AnatomyClasses.Liver, AnatomyClasses.CysticPlate) < Distance(AnatomyClasses.Gut, AnatomyClasses.Omentum));
    }

    [Fact]
    public void ImagesDecodeThroughMlNetImagePipeline()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadVqa(Path.Combine(_data.Folder, "test.json"));
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: VqaColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages("Image", 32, 32))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
        var transformed = pipeline.Fit(data).Transform(data);
        var pixels = transformed.GetColumn<VBuffer<float>>("Pixels").Take(5).ToList();
        Assert.Equal(5, pixels.Count);
        Assert.All(pixels, p =>
        {
            Assert.Equal(3 * 32 * 32, p.Length);
            var values = p.DenseValues().ToArray();
            Assert.True(values.Max() - values.Min() > 50, "an image should not be flat");
        });
    }

    [Fact]
    public void SeveralQuestionsPerSceneAskAboutDifferentRegions()
    {
        var options = new SyntheticDatasetOptions { Count = 90, Seed = 5, QuestionsPerScene = 3 };
        var scenes = SyntheticDatasetGenerator.Generate(options);
        Assert.Equal(30, scenes.Count);
        Assert.All(scenes, s =>
        {
            Assert.Equal(3, s.Records.Count);
            Assert.Equal(3, s.Records.Select(r => r.Target.Id).Distinct().Count());
        });
    }

    [Fact]
    public void WriterRefusesToOverwriteAndLeavesNothingWhenCancelled()
    {
        using var dir = new TempDir();
        string existing = dir.File("out/keep.txt", "x");
        Assert.Throws<IOException>(() => SyntheticDatasetWriter.Write(Path.GetDirectoryName(existing)!, new SyntheticDatasetOptions { Count = 5 }));
        Assert.True(File.Exists(existing));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        string target = Path.Combine(dir.Path, "cancelled");
        Assert.ThrowsAny<OperationCanceledException>(() => SyntheticDatasetWriter.Write(target, new SyntheticDatasetOptions { Count = 50 }, cancellationToken: cancelled.Token));
        Assert.False(Directory.Exists(target));
        Assert.Equal(new[] { "out" }, Directory.GetDirectories(dir.Path).Select(Path.GetFileName));

        // Overwriting is refused for a folder the writer did not make (the user's file survives) and allowed for its own.
        Assert.Throws<ArgumentException>(() => SyntheticDatasetWriter.Write(Path.GetDirectoryName(existing)!, new SyntheticDatasetOptions { Count = 5 }, overwrite: true));
        Assert.True(File.Exists(existing));
        string own = Path.Combine(dir.Path, "own");
        SyntheticDatasetWriter.Write(own, new SyntheticDatasetOptions { Count = 5 });
        SyntheticDatasetWriter.Write(own, new SyntheticDatasetOptions { Count = 6 }, overwrite: true);
        Assert.True(File.Exists(Path.Combine(own, "train.json")));
        Assert.True(File.Exists(Path.Combine(own, SyntheticDatasetWriter.MarkerFile)));
    }

    [Theory]
    [InlineData(0, 64, 1)]
    [InlineData(10, 8, 1)]
    [InlineData(10, 64, 5)]
    public void BadOptionsAreRejected(int count, int size, int perScene) =>
        Assert.Throws<ArgumentException>(() => SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = count, ImageSize = size, QuestionsPerScene = perScene }));

    [Fact]
    public void CheckerRejectsAmbiguousAndWrongQuestions()
    {
        var scene = _data.Scenes.First(s => s.Layout.Graph.Anatomies.Count() >= 3 && s.Layout.Graph.Anatomies.Count(a => a.Colour == "red") >= 1).Layout.Graph;
        var anatomy = scene.Anatomies.First();
        var options = new[] { anatomy.Class }.Concat(AnatomyClasses.All.Where(c => c != anatomy.Class).Take(3)).ToArray();

        // "What is the anatomy?" alone fits every region.
        var vague = new QuestionSpec(QuestionFamily.Attribute, new ObjectDescription(Noun.Anatomy), Array.Empty<RelationConstraint>());
        Assert.False(SceneQuestionChecker.Check(scene, vague, options, 0, out string? why));
        Assert.Contains("objects fit", why, StringComparison.Ordinal);

        var positional = new QuestionSpec(QuestionFamily.Positional, new ObjectDescription(Noun.Anatomy, Cell: anatomy.Cell), Array.Empty<RelationConstraint>());
        Assert.True(SceneQuestionChecker.Check(scene, positional, options, 0, out _));
        Assert.False(SceneQuestionChecker.Check(scene, positional, options, 1, out why));
        Assert.Contains("marked correct", why, StringComparison.Ordinal);

        var ambiguousReference = new QuestionSpec(QuestionFamily.OneHop, new ObjectDescription(Noun.Anatomy),
            new[] { new RelationConstraint(SpatialRelation.Above, new ObjectDescription(Noun.Thing)) });
        Assert.False(SceneQuestionChecker.Check(scene, ambiguousReference, options, 0, out why));
        Assert.Contains("denotes", why, StringComparison.Ordinal);
    }
}

public sealed class SyntheticColourWordTests
{
    [Fact]
    public void ColourWordShortcutsAreAvoidedByDefaultAndFlaggedWhenAllowed()
    {
        var byDefault = SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = 300, Seed = 11 }).SelectMany(s => s.Records).ToList();
        Assert.DoesNotContain(byDefault, r => r.TextShortcut);
        var coloured = byDefault.Where(r => r.Spec.Target.Colour is not null).ToList();
        Assert.NotEmpty(coloured);
        Assert.All(coloured, r => Assert.True(r.Options.Count(o => AnatomyAppearance.ByClass[o].ColourWord == r.Spec.Target.Colour) >= 2));

        var allowed = SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = 300, Seed = 11, AllowTextShortcuts = true }).SelectMany(s => s.Records).ToList();
        var shortcut = allowed.Where(r => r.TextShortcut).ToList();
        Assert.NotEmpty(shortcut);
        Assert.All(shortcut, r => Assert.Equal(1, r.Options.Count(o => AnatomyAppearance.ByClass[o].ColourWord == r.Spec.Target.Colour)));

        var none = SyntheticDatasetGenerator.Generate(new SyntheticDatasetOptions { Count = 300, Seed = 11, ColourWordsInTargets = false }).SelectMany(s => s.Records).ToList();
        Assert.All(none, r => Assert.Null(r.Spec.Target.Colour));
        Assert.All(none.GroupBy(r => r.Family), g => Assert.Equal(60, g.Count()));
    }
}
