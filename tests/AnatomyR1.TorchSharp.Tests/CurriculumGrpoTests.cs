using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Training.Grpo;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>The policy-embedding similarity and the ASCL curriculum inside GRPO and its ML.NET estimator.</summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Slow")]
public sealed class CurriculumGrpoTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;
    private readonly ITestOutputHelper _output;

    public CurriculumGrpoTests(SmallSyntheticData data, ITestOutputHelper output)
    {
        _data = data;
        _output = output;
    }

    [Fact]
    public void PolicyEmbeddingIsTheMeanOfTheOptionsTokenRowsAndRoundTrips()
    {
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        var embedder = new PolicyTokenEmbedder(policy);
        var table = policy.Model.named_parameters().First(p => p.name == "embed_tokens.weight").parameter.detach().cpu();
        int width = (int)table.shape[1];
        var values = table.data<float>().ToArray();
        foreach (string option in new[] { "Cystic Plate", "Liver", "Abdominal Wall Cavity" })
        {
            var ids = policy.Tokenizer.Encode(option);
            var expected = new double[width];
            foreach (int id in ids)
            {
                for (int i = 0; i < width; i++)
                {
                    expected[i] += values[(id * width) + i] / (double)ids.Count;
                }
            }

            double norm = Math.Sqrt(expected.Sum(v => v * v));
            var actual = embedder.Embed(option);
            for (int i = 0; i < width; i++)
            {
                Assert.Equal(expected[i] / norm, actual[i], 5);
            }
        }

        double dot = Enumerable.Range(0, width).Sum(i => (double)embedder.Embed("Liver")[i] * embedder.Embed("Gut")[i]);
        Assert.Equal(dot, embedder.Similarity("Liver", "Gut"), 5);

        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-embedder-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            ComponentStore.Save(embedder, folder);
            var loaded = ComponentStore.Load<IOptionSimilarity>(new ComponentLoadContext(folder, new MLContext(seed: 0)));
            Assert.IsType<PolicyTokenEmbedder>(loaded);
            Assert.Equal(embedder.Similarity("Liver", "Cystic Plate"), loaded.Similarity("Liver", "Cystic Plate"));
            Assert.Equal(embedder.Similarity("Gut", "Omentum"), loaded.Similarity("Gut", "Omentum"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void UnderAsclTheBatchMeanSqRisesAndUnderRandomOrderItStaysFlat()
    {
        var visual = ClassSimilarityTable.SyntheticVisual();
        var examples = _data.Train.Select(s => new GrpoExample(s) { OptionSimilarity = OptionSimilarityScore.Compute(s.Options, s.CorrectIndex, visual) }).ToList();
        double overall = examples.Average(e => (double)e.OptionSimilarity!.Value);
        GrpoOptions Options(CurriculumOptions? curriculum) => new()
        {
            Steps = 20, BatchSize = 8, NumGenerations = 2, Beta = 0, LearningRate = 1e-6, VisionLearningRate = 1e-6, WarmupSteps = 0, Seed = 4, Generation = new GenerationOptions { MaxNewTokens = 4 },
            Curriculum = curriculum,
        };

        List<GrpoStepMetrics> Run(GrpoOptions o)
        {
            using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
            using var trainer = new GrpoSession(policy, examples, o);
            return trainer.Train().ToList();
        }

        var ascl = Run(Options(new CurriculumOptions { StartFraction = 0.2, FullDataAt = 0.8 }));
        var random = Run(Options(null));
        double Mean(List<GrpoStepMetrics> run, int from, int to) => run.Skip(from - 1).Take(to - from + 1).Average(m => m["curriculum/mean_s_q"]);

        Assert.Equal(0.2, ascl[0]["curriculum/pool_fraction"], 2);
        Assert.Equal(1.0, ascl[^1]["curriculum/pool_fraction"], 12);
        Assert.All(ascl.Zip(ascl.Skip(1)), p => Assert.True(p.Second["curriculum/pool_fraction"] >= p.First["curriculum/pool_fraction"]));
        Assert.False(random[0].TryGet("curriculum/pool_fraction", out _));

        double asclEarly = Mean(ascl, 1, 5), asclLate = Mean(ascl, 16, 20);
        double randomEarly = Mean(random, 1, 5), randomLate = Mean(random, 16, 20);
        _output.WriteLine($"data mean S(q) {overall:0.000}; ASCL steps 1-5 {asclEarly:0.000}, 16-20 {asclLate:0.000}; random {randomEarly:0.000}, {randomLate:0.000}");
        Assert.True(asclLate - asclEarly > 0.1, $"ASCL batch-mean S(q) {asclEarly:0.000} → {asclLate:0.000}");
        Assert.True(asclEarly < overall - 0.08, $"ASCL starts at {asclEarly:0.000}, the data's mean is {overall:0.000}");
        Assert.True(Math.Abs(randomLate - randomEarly) < 0.07, $"random order {randomEarly:0.000} → {randomLate:0.000}");
        Assert.InRange(randomEarly, overall - 0.07, overall + 0.07);
        Assert.InRange(asclLate, overall - 0.07, overall + 0.07);
    }

    [Fact]
    public void CurriculumNeedsScoresAndExcludesAnExplicitSampler()
    {
        using var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        var examples = _data.Train.Take(10).Select(s => new GrpoExample(s)).ToList();
        var o = new GrpoOptions { Steps = 2, BatchSize = 2, NumGenerations = 2, Beta = 0, Curriculum = new CurriculumOptions(), Generation = new GenerationOptions { MaxNewTokens = 8 } };
        var ex = Assert.Throws<ArgumentException>(() => new GrpoSession(policy, examples, o));
        Assert.Contains("Training example 0", ex.Message);
        Assert.Contains("S(q)", ex.Message);
        var scored = examples.Select(e => e with { OptionSimilarity = 0.5f }).ToList();
        Assert.Throws<ArgumentException>(() => new GrpoSession(policy, scored, o, new UniformPromptSampler(scored.Count, 0)));
        o.Curriculum = new CurriculumOptions { StartFraction = 2 };
        Assert.Equal("StartFraction", Assert.Throws<ArgumentException>(() => o.Validate()).ParamName);
    }

    [Fact]
    public void ResumedCurriculumRunsDrawTheSameAndOtherCurriculaAreRefused()
    {
        var examples = _data.Train.Select((s, i) => new GrpoExample(s) { OptionSimilarity = (i * 37 % 101) / 101f }).ToList();
        GrpoOptions Options(double c0) => new()
        {
            Steps = 4, BatchSize = 4, NumGenerations = 2, Beta = 0, WarmupSteps = 0, Seed = 9, CheckpointEvery = 2, KeepCheckpoints = 0, Generation = new GenerationOptions { MaxNewTokens = 8 },
            Curriculum = new CurriculumOptions { StartFraction = c0, Pacing = CurriculumPacing.Root },
        };
        string run = Path.Combine(Path.GetTempPath(), "anatomyr1-ascl-resume-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            List<GrpoStepMetrics> straight;
            using (var policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu"))
            using (var trainer = new GrpoSession(policy, examples, Options(0.3), runFolder: run))
            {
                straight = trainer.Train().ToList();
            }

            string checkpoint = GrpoCheckpoint.List(Path.Combine(run, GrpoSession.CheckpointsFolder))[0].Folder;
            var refused = Assert.Throws<GrpoSettingsMismatchException>(() => GrpoSession.Resume(checkpoint, examples, Options(0.5), device: "cpu"));
            Assert.Contains("option curriculum", refused.Message);
            using var resumed = GrpoSession.Resume(checkpoint, examples, Options(0.3), device: "cpu");
            var rest = resumed.Train();
            Assert.Equal(straight.Skip(2).Select(m => m["curriculum/mean_s_q"]), rest.Select(m => m["curriculum/mean_s_q"]));
            Assert.Equal(straight.Skip(2).Select(m => m["curriculum/pool_size"]), rest.Select(m => m["curriculum/pool_size"]));
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void PipelineWithSimilarityAndCurriculumTrainsAndRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var logged = GrpoLog.Capture(ml);
        var train = ml.Data.LoadFromEnumerable(_data.Train);
        var test = ml.Data.LoadFromEnumerable(_data.Test.Take(4));
        using var start = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        var grpo = ml.AnatomyR1().Grpo(new GrpoTrainerOptions
        {
            Grpo = new GrpoOptions { Steps = 2, BatchSize = 2, NumGenerations = 2, Beta = 0, Seed = 3, Curriculum = new CurriculumOptions(), Generation = new GenerationOptions { MaxNewTokens = 48 } },
            Device = "cpu",
        });
        var pipeline = ml.AnatomyR1().AnatomicalSimilarity(start).Append(grpo);
        var model = pipeline.Fit(train);
        Assert.Equal(2, grpo.History.Count);
        Assert.All(grpo.History, m => Assert.True(m.TryGet("curriculum/mean_s_q", out _) && m.TryGet("curriculum/pool_fraction", out _)));
        Assert.DoesNotContain(logged, l => l.StartsWith("S(q) was scored", StringComparison.Ordinal));

        var predicted = model.Transform(test);
        var scores = predicted.GetColumn<float>(VqaColumns.OptionSimilarity).ToArray();
        var completions = predicted.GetColumn<string>(VqaColumns.Completion).ToArray();
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));

        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-ascl-model-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            VlmModel.Save(ml, model, train.Schema, folder);
            var loaded = VlmModel.Load(ml, folder, out _, "cpu");
            Assert.IsType<PolicyTokenEmbedder>(loaded.OfType<AnatomicalSimilarityTransformer>().Single().Similarity);
            var again = loaded.Transform(test);
            Assert.Equal(scores, again.GetColumn<float>(VqaColumns.OptionSimilarity).ToArray());
            Assert.Equal(completions, again.GetColumn<string>(VqaColumns.Completion).ToArray());
            ((IDisposable)loaded.Last()).Dispose();
        }
        finally
        {
            model.LastTransformer.Dispose();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        // Without an S(q) column the curriculum is a clear error naming the column, unless the S(q) column is set to null
        // on purpose: then S(q) is scored with the starting policy's token embeddings.
        var plainOptions = new GrpoTrainerOptions
        {
            Grpo = new GrpoOptions { Steps = 1, BatchSize = 2, NumGenerations = 2, Beta = 0, Curriculum = new CurriculumOptions(), Generation = new GenerationOptions { MaxNewTokens = 8 } },
            Device = "cpu",
        };
        var missing = Assert.Throws<ArgumentException>(() => ml.AnatomyR1().Grpo(plainOptions).Fit(train));
        Assert.Contains("'OptionSimilarity'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("OptionSimilarityColumn = null", missing.Message, StringComparison.Ordinal);
        plainOptions.OptionSimilarityColumn = null;
        var plain = ml.AnatomyR1().Grpo(plainOptions);
        plain.Fit(train).Dispose();
        Assert.Contains(logged, l => l.StartsWith("S(q) was scored with the starting policy's token embeddings", StringComparison.Ordinal));
        Assert.True(plain.History[0].TryGet("curriculum/mean_s_q", out double mean) && mean > 0);
    }
}
