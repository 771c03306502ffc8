using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>S(q) on hand-made vectors and tables, the embedders, the estimator/transformer and its persistence.</summary>
public sealed class SimilarityTests
{
    private static readonly VectorOptionEmbedder Vectors = new(new Dictionary<string, float[]>
    {
        ["A"] = new[] { 1f, 0f },
        ["B"] = new[] { 0f, 1f },
        ["C"] = new[] { 1f, 1f },
        ["D"] = new[] { -1f, 0f },
    });

    [Fact]
    public void SqOnHandMadeVectorsIsExact()
    {
        var options = new[] { "A", "B", "C" };
        float r = (float)(1 / Math.Sqrt(2));
        Assert.Equal(0f, Vectors.Similarity("A", "B"), 6);
        Assert.Equal(r, Vectors.Similarity("A", "C"), 6);
        Assert.Equal(-1f, Vectors.Similarity("A", "D"), 6);

        // Answer A: distractors B (cos 0) and C (cos 1/√2).
        Assert.Equal(r / 2, OptionSimilarityScore.Compute(options, 0, Vectors), 6);
        Assert.Equal(r, OptionSimilarityScore.Compute(options, 0, Vectors, SimilarityAggregation.MaxToAnswer), 6);

        // All pairs: AB 0, AC 1/√2, BC 1/√2.
        Assert.Equal(2 * r / 3, OptionSimilarityScore.Compute(options, 0, Vectors, SimilarityAggregation.MeanAllPairs), 6);
        Assert.Equal(2 * r / 3, OptionSimilarityScore.Compute(options, 2, Vectors, SimilarityAggregation.MeanAllPairs), 6);

        // Answer C: distractors A and B are both at 1/√2.
        Assert.Equal(r, OptionSimilarityScore.Compute(options, 2, Vectors), 6);

        // Answer A with D: (0 + −1) / 2.
        Assert.Equal(-0.5f, OptionSimilarityScore.Compute(new[] { "A", "B", "D" }, 0, Vectors), 6);

        Assert.True(float.IsNaN(OptionSimilarityScore.Compute(new[] { "A" }, 0, Vectors)));
        Assert.True(float.IsNaN(OptionSimilarityScore.Compute(options, -1, Vectors)));
        Assert.False(float.IsNaN(OptionSimilarityScore.Compute(options, -1, Vectors, SimilarityAggregation.MeanAllPairs)));
    }

    [Fact]
    public void VectorsMatchIgnoringCaseAndUnknownTextsAreNamed()
    {
        Assert.Equal(1f, Vectors.Similarity(" a ", "A"), 6);
        var ex = Assert.Throws<ArgumentException>(() => Vectors.Similarity("A", "Spleen"));
        Assert.Contains("'Spleen'", ex.Message);
        Assert.Throws<ArgumentException>(() => new VectorOptionEmbedder(new Dictionary<string, float[]> { ["x"] = new[] { 1f }, ["y"] = new[] { 1f, 2f } }));
        Assert.Throws<ArgumentException>(() => new VectorOptionEmbedder(new Dictionary<string, float[]> { ["x"] = new[] { float.NaN } }));
    }

    [Fact]
    public void ClassTableLooksUpRowsAndReadsCsvWithClearErrors()
    {
        using var dir = new TempDir();
        string csv = dir.File("t.csv", "# anatomical adjacency\n,Liver,Gut,Omentum\nLiver,1,0.5,0.1\nGut,0.4,1,0.2\nOmentum,0.1,0.2,1\n");
        var table = ClassSimilarityTable.FromCsv(csv);
        Assert.Equal(0.5f, table.Similarity("liver", "Gut"));
        Assert.Equal(0.4f, table.Similarity("Gut", "Liver")); // asymmetric: row of the first argument
        Assert.Equal((0.5f + 0.1f) / 2, OptionSimilarityScore.Compute(new[] { "Liver", "Gut", "Omentum" }, 0, table), 6);
        Assert.Equal(table.ToCsv(), ClassSimilarityTable.FromCsv(dir.File("again.csv", table.ToCsv())).ToCsv());

        var unknown = Assert.Throws<ArgumentException>(() => table.Similarity("Liver", "Spleen"));
        Assert.Contains("'Spleen'", unknown.Message);

        var badNumber = Assert.Throws<InvalidDataException>(() => ClassSimilarityTable.FromCsv(dir.File("b.csv", ",Liver,Gut\nLiver,1,x\nGut,0.4,1\n")));
        Assert.Contains("b.csv line 2, field 3 ('Gut')", badNumber.Message);
        var badOrder = Assert.Throws<InvalidDataException>(() => ClassSimilarityTable.FromCsv(dir.File("c.csv", ",Liver,Gut\nGut,1,0\nLiver,0,1\n")));
        Assert.Contains("line 2, field 1", badOrder.Message);
        Assert.Throws<InvalidDataException>(() => ClassSimilarityTable.FromCsv(dir.File("d.csv", ",Liver,Gut\nLiver,1,0\n")));

        var visual = ClassSimilarityTable.SyntheticVisual();
        Assert.Equal(0.9f, visual.Similarity("Liver", "Cystic Plate"), 6);
    }

    [Fact]
    public void CharNGramsMeasureSpellingDeterministically()
    {
        var e = new CharNGramEmbedder();
        Assert.Equal(1f, e.Similarity("Liver", "LIVER!"), 5); // same normalised text, different strings
        Assert.Equal(" abdominal wall cavity ", CharNGramEmbedder.Normalize("Abdominal-Wall  Cavity"));
        Assert.True(e.Similarity("Gallbladder", "Gall bladder") > 0.7f);
        Assert.True(e.Similarity("Gallbladder", "Gall bladder") > e.Similarity("Gallbladder", "Omentum"));
        Assert.Equal(0f, e.Similarity("Liver", "Gut"), 6);
        Assert.Equal(e.Embed("Cystic Plate"), new CharNGramEmbedder().Embed("Cystic Plate"));
        Assert.Equal(1.0, e.Embed("Cystic Plate").Sum(v => (double)v * v), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CharNGramEmbedder(minN: 3, maxN: 2));
    }

    [Fact]
    public void EstimatorAddsScoresAndQuantileStages()
    {
        var ml = new MLContext(seed: 1);
        var samples = Enumerable.Range(0, 9).Select(i => Sample($"q{i}", new[] { "A", "B", "C" }, i % 3)).ToList();
        samples.Add(new VqaSample { SampleId = "open", Options = Array.Empty<string>(), CorrectIndex = -1, Answer = "grasper" });
        var data = ml.Data.LoadFromEnumerable(samples);
        var transformer = ml.AnatomyR1().AnatomicalSimilarity(Vectors, stageCount: 3).Fit(data);
        Assert.Equal(10, transformer.FittedRowCount);
        Assert.Equal(1, transformer.UndefinedRowCount);

        // Scores: answer A → r/2, answer B → r/2 (B·A = 0, B·C = r), answer C → r; 3 of each.
        float r = (float)(1 / Math.Sqrt(2));
        Assert.Equal(2, transformer.StageBounds.Count);
        Assert.Equal(r / 2, transformer.StageBounds[0], 6);
        Assert.Equal(r / 2 + ((r - r / 2) * (16.0f / 3 - 5)), transformer.StageBounds[1], 5);

        var output = transformer.Transform(data);
        var scores = output.GetColumn<float>(VqaColumns.OptionSimilarity).ToArray();
        var stages = output.GetColumn<int>(VqaColumns.CurriculumStage).ToArray();
        Assert.Equal(10, scores.Length);
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(OptionSimilarityScore.Compute(samples[i].Options, samples[i].CorrectIndex, Vectors), scores[i]);
            Assert.Equal(i % 3 == 2 ? 2 : 1, stages[i]);
        }

        Assert.True(float.IsNaN(scores[9]));
        Assert.Equal(-1, stages[9]);
        Assert.Equal(0, transformer.StageOf(0.1f));

        // The other columns pass through unchanged.
        Assert.Equal(samples.Select(s => s.SampleId), output.GetColumn<string>(VqaColumns.SampleId));
        // Schema shapes cannot be built from a schema outside ML.NET; a never-fitted custom mapping makes one.
        var input = ml.Transforms.CustomMapping<NoColumns, ShapeRow>((_, _) => { }, contractName: null)
            .GetOutputSchema(new SchemaShape(Enumerable.Empty<SchemaShape.Column>()));
        var shape = ml.AnatomyR1().AnatomicalSimilarity().GetOutputSchema(input);
        Assert.Contains(shape, c => c.Name == VqaColumns.OptionSimilarity && c.ItemType == NumberDataViewType.Single);
        Assert.Contains(shape, c => c.Name == VqaColumns.CurriculumStage && c.ItemType == NumberDataViewType.Int32);
        Assert.Throws<ArgumentException>(() => ml.AnatomyR1().AnatomicalSimilarity().GetOutputSchema(new SchemaShape(Enumerable.Empty<SchemaShape.Column>())));
    }

    [Fact]
    public void BadRowsAreNamedAndMissingColumnsRejected()
    {
        var ml = new MLContext(seed: 1);
        var bad = ml.Data.LoadFromEnumerable(new[] { Sample("ok", new[] { "A", "B" }, 0), Sample("broken", new[] { "A", "B" }, 5) });
        var ex = Assert.Throws<InvalidDataException>(() => ml.AnatomyR1().AnatomicalSimilarity(Vectors).Fit(bad));
        Assert.Contains("row 1 (sample 'broken')", ex.Message);
        Assert.Contains("CorrectIndex", ex.Message);

        var unknown = ml.Data.LoadFromEnumerable(new[] { Sample("spleen", new[] { "A", "Spleen" }, 0) });
        var ex2 = Assert.Throws<InvalidDataException>(() => ml.AnatomyR1().AnatomicalSimilarity(Vectors).Fit(unknown));
        Assert.Contains("sample 'spleen'", ex2.Message);
        Assert.Contains("'Spleen'", ex2.Message);

        var noOptions = ml.Data.LoadFromEnumerable(new[] { new { Question = "q", CorrectIndex = 0 } });
        Assert.Throws<ArgumentException>(() => ml.AnatomyR1().AnatomicalSimilarity().Fit(noOptions));
        Assert.Throws<ArgumentException>(() => new AnatomicalSimilarityEstimator(new AnatomicalSimilarityOptions { StageCount = 0 }));
    }

    [Fact]
    public void MixedPipelineRoundTripsThroughAnatomyR1Model()
    {
        var ml = new MLContext(seed: 1);
        var samples = Enumerable.Range(0, 12).Select(i => Sample($"q{i}", new[] { "Liver", "Gut", "Omentum", "Gallbladder" }, i % 4)).ToList();
        var data = ml.Data.LoadFromEnumerable(samples);
        foreach (IOptionSimilarity measure in new IOptionSimilarity[] { new CharNGramEmbedder(minN: 3, maxN: 3, dimension: 512), ClassSimilarityTable.SyntheticVisual(), Vectors4() })
        {
            var pipeline = ml.Transforms.CopyColumns("QuestionCopy", VqaColumns.Question)
                .Append(ml.AnatomyR1().AnatomicalSimilarity(measure, SimilarityAggregation.MaxToAnswer, stageCount: 4))
                .Append(ml.Transforms.CopyColumns("AnswerCopy", VqaColumns.Answer));
            var model = pipeline.Fit(data);
            using var dir = new TempDir();
            string folder = Path.Combine(dir.Path, "model");
            AnatomyR1Model.Save(ml, model, data.Schema, folder);
            var loaded = AnatomyR1Model.Load(ml, folder, out var schema);
            Assert.Equal(data.Schema.Count, schema.Count);
            Assert.Equal(3, loaded.Count());
            var reloaded = loaded.OfType<AnatomicalSimilarityTransformer>().Single();
            Assert.Equal(measure.Name, reloaded.Similarity.Name);
            Assert.Equal(SimilarityAggregation.MaxToAnswer, reloaded.Aggregation);
            Assert.Equal(model.OfType<AnatomicalSimilarityTransformer>().Single().StageBounds, reloaded.StageBounds);
            var before = model.Transform(data);
            var after = loaded.Transform(data);
            Assert.Equal(before.GetColumn<float>(VqaColumns.OptionSimilarity), after.GetColumn<float>(VqaColumns.OptionSimilarity));
            Assert.Equal(before.GetColumn<int>(VqaColumns.CurriculumStage), after.GetColumn<int>(VqaColumns.CurriculumStage));
            Assert.Equal(before.GetColumn<string>("AnswerCopy"), after.GetColumn<string>("AnswerCopy"));
        }
    }

    [Fact]
    public void UnsavableMeasuresAndDamagedModelsAreClearErrors()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { Sample("a", new[] { "A", "B" }, 0), Sample("b", new[] { "B", "C" }, 1) });
        var model = ml.AnatomyR1().AnatomicalSimilarity(new OnlyInMemory()).Fit(data);
        using var dir = new TempDir();
        string folder = Path.Combine(dir.Path, "m");
        var ex = Assert.Throws<InvalidOperationException>(() => AnatomyR1Model.Save(ml, model, data.Schema, folder));
        Assert.Contains(nameof(IPersistentComponent), ex.Message);
        Assert.False(Directory.Exists(folder)); // nothing half-written
        Assert.Throws<NotSupportedException>(() => ml.Model.Save(model, data.Schema, Path.Combine(dir.Path, "x.zip")));

        AnatomyR1Model.Save(ml, ml.AnatomyR1().AnatomicalSimilarity(Vectors).Fit(data), data.Schema, folder);
        string settings = Directory.GetFiles(folder, "similarity.json", SearchOption.AllDirectories).Single();
        File.WriteAllText(settings, "{\"aggregation\": \"Median\"}");
        var damaged = Assert.Throws<InvalidDataException>(() => AnatomyR1Model.Load(ml, folder, out _));
        Assert.Contains("similarity.json", damaged.Message);
        File.Delete(Path.Combine(folder, AnatomyR1Model.ManifestFile));
        Assert.Throws<InvalidDataException>(() => AnatomyR1Model.Load(ml, folder, out _));
    }

    [Fact]
    public void SpearmanAndDifficultyBinsMatchHandComputedValues()
    {
        // Ranks of x: 1 2 3 4; y = 1 0 1 0 has tied ranks 3.5 1.5 3.5 1.5. Deviations (−1.5 −0.5 0.5 1.5) and
        // (1 −1 1 −1): covariance sum −2, squares 5 and 4, so ρ = −2/√20 = −1/√5.
        Assert.Equal(-1 / Math.Sqrt(5), RankCorrelation.Spearman(new double[] { 1, 2, 3, 4 }, new double[] { 1, 0, 1, 0 }), 10);
        Assert.Equal(1.0, RankCorrelation.Spearman(new double[] { 1, 5, 9 }, new double[] { 2, 3, 100 }), 10);
        Assert.Equal(new[] { 2.0, 2.0, 2.0, 4.0 }, RankCorrelation.AverageRanks(new double[] { 7, 7, 7, 9 }));
        Assert.True(double.IsNaN(RankCorrelation.Spearman(new double[] { 1, 2 }, new double[] { 1, 1 })));

        var scores = new float[] { 0.9f, 0.1f, 0.5f, 0.3f, 0.7f, float.NaN };
        var correct = new[] { false, true, true, true, false, true };
        var analysis = DifficultyAnalysis.Compute(scores, correct, bins: 5);
        Assert.Equal(5, analysis.Count);
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 0.0, 0.0 }, analysis.Bins.Select(b => b.Accuracy));
        Assert.Equal(new[] { 0.1, 0.3, 0.5, 0.7, 0.9 }, analysis.Bins.Select(b => Math.Round(b.MeanScore, 6)));
        Assert.True(analysis.Spearman < -0.8);
    }

    [SharedDataFact]
    public void EveryPublishedRecordGetsAFiniteSq()
    {
        var ml = new MLContext(seed: 1);
        foreach (string file in new[] { TestData.GrpoJson, TestData.AscJson })
        {
            var data = ml.Data.LoadVqa(file);
            var transformer = ml.AnatomyR1().AnatomicalSimilarity().Fit(data);
            var scores = transformer.Transform(data).GetColumn<float>(VqaColumns.OptionSimilarity).ToArray();
            Assert.Equal(1000, scores.Length);
            Assert.All(scores, s => Assert.True(float.IsFinite(s) && s >= 0 && s < 1));
            var stages = transformer.Transform(data).GetColumn<int>(VqaColumns.CurriculumStage).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(new[] { 0, 1, 2 }, stages.Keys.Order());
            Assert.All(stages.Values, c => Assert.InRange(c, 250, 420));

            // With the class table the six anatomy classes of the published records are all known.
            var visual = ml.AnatomyR1().AnatomicalSimilarity(ClassSimilarityTable.SyntheticVisual()).Fit(data);
            Assert.Equal(0, visual.UndefinedRowCount);
        }
    }

    private static VectorOptionEmbedder Vectors4() => new(new Dictionary<string, float[]>
    {
        ["Liver"] = new[] { 1f, 0.2f, 0f }, ["Gut"] = new[] { 0.5f, 1f, 0f }, ["Omentum"] = new[] { 0f, 0.1f, 1f }, ["Gallbladder"] = new[] { 0.3f, 0.3f, 0.3f },
    });

    private static VqaSample Sample(string id, string[] options, int correct) => new()
    {
        SampleId = id, Question = "What is it?", Options = options, CorrectIndex = correct, Answer = correct >= 0 && correct < options.Length ? options[correct] : string.Empty,
    };

    private sealed class NoColumns
    {
    }

    private sealed class ShapeRow
    {
        public string[] Options { get; set; } = Array.Empty<string>();

        public int CorrectIndex { get; set; }
    }

    private sealed class OnlyInMemory : IOptionSimilarity
    {
        public string Name => "in-memory";

        public float Similarity(string a, string b) => a == b ? 1f : 0.5f;
    }
}
