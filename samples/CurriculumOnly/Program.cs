// Curriculum only: ASCL without GRPO and without TorchSharp. Score S(q) for every question, see how the quantile
// stages split the data, and let the curriculum sampler feed your own training loop from dissimilar to similar
// answer options. The fitted scorer is saved and reloaded like any ML.NET model.
//
// Run: dotnet run --project samples/CurriculumOnly -- [data file (any supported format)] [steps]
//      (without a file it writes 500 synthetic scenes and scores the 400 training questions and scores them with the renderer's visual-similarity table)
using System.Globalization;
using AnatomyR1;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.Persistence;
using AnatomyR1.Synthetic;
using Microsoft.ML;
using Microsoft.ML.Data;

string? file = args.Length > 0 && args[0].Length > 0 ? args[0] : null;
int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
string work = Path.Combine(Path.GetTempPath(), "anatomyr1-curriculum-only");
IOptionSimilarity similarity;
if (file is null)
{
    string scenes = Path.Combine(work, "data");
    SyntheticDatasetWriter.Write(scenes, new SyntheticDatasetOptions { Count = 500, Seed = 7 }, overwrite: true);
    file = Path.Combine(scenes, "train.json");
    similarity = ClassSimilarityTable.SyntheticVisual();        // how alike the renderer draws each pair of classes
}
else
{
    similarity = new CharNGramEmbedder();                       // works on any option texts, no model needed
}

var ml = new MLContext(seed: 1);
IDataView data = ml.Data.LoadVqa(file);

// 1. S(q): the mean similarity of the correct option to the distractors; K = 3 stages at the S(q) terciles.
var scorer = ml.AnatomyR1().AnatomicalSimilarity(similarity, SimilarityAggregation.MeanToAnswer, stageCount: 3).Fit(data);
IDataView scored = scorer.Transform(data);
var ids = scored.GetColumn<string>(VqaColumns.SampleId).ToList();
var scores = scored.GetColumn<float>(VqaColumns.OptionSimilarity).ToList();
var stages = scored.GetColumn<int>(VqaColumns.CurriculumStage).ToList();
Console.WriteLine($"{scores.Count} questions scored with {similarity.Name}; {scorer.UndefinedRowCount} without options (S(q) = NaN, stage -1)");
Console.WriteLine($"stage bounds (S(q) quantiles): {string.Join(", ", scorer.StageBounds.Select(b => b.ToString("F3", CultureInfo.InvariantCulture)))}");
for (int stage = 0; stage < 3; stage++)
{
    var inStage = scores.Where((_, i) => stages[i] == stage).ToList();
    Console.WriteLine($"  stage {stage}: {inStage.Count,4} questions, S(q) {inStage.Min():F3} – {inStage.Max():F3}");
}

// 2. The curriculum for your own loop: a linear pool from the easiest 20% to all questions at 80% of the steps;
//    each draw is a seeded shuffle within the pool, so the run is reproducible and resumable from (seed, step).
var options = new CurriculumOptions { Pacing = CurriculumPacing.Linear, StartFraction = 0.2, FullDataAt = 0.8 };
var sampler = new CurriculumSampler(scores, options, totalSteps: steps, seed: 3);
Console.WriteLine($"\ncurriculum over {steps} steps (batch 8): pool reaches every question at step {sampler.Schedule.FullDataStep}");
for (int step = 1; step <= steps; step += Math.Max(1, steps / 6))   // steps are 1-based, as in the trainers
{
    var batch = sampler.Draw(step, attempt: 0, count: 8);
    var m = sampler.Metrics(step);
    Console.WriteLine($"  step {step,3}: pool {sampler.PoolSize(step),4} ({m["curriculum/pool_fraction"]:P0}, S(q) ≤ {m["curriculum/pool_max_s_q"]:F3}), " +
        $"batch mean S(q) {sampler.MeanScore(batch):F3}, first question {ids[batch[0]]}");
}

// 3. Save and reload the fitted scorer; it scores new data identically (including the stage bounds learnt here).
string saved = Path.Combine(work, "similarity-model");
AnatomyR1Model.Save(ml, scorer, data.Schema, saved);
var reloaded = AnatomyR1Model.Load(ml, saved, out _);
bool same = reloaded.Transform(data).GetColumn<float>(VqaColumns.OptionSimilarity).SequenceEqual(scores);
Console.WriteLine($"\nsaved to {saved}; the reloaded scorer gives {(same ? "identical" : "DIFFERENT")} scores");
return same ? 0 : 1;
