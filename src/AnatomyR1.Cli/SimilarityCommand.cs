using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.TorchSharp.Curriculum;
using AnatomyR1.TorchSharp.Policy;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 similarity &lt;data&gt;</c>: S(q) of every record with one or more similarity measures, a summary table,
/// a histogram per option set, optionally the scored records as JSON lines and the accuracy of a policy per S(q)
/// quintile (does accuracy fall as S(q) rises?).
/// </summary>
internal static class SimilarityCommand
{
    private const int HistogramBins = 10;

    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var file = new Argument<string>("data") { Description = "Data file (any supported format) or an SSG-VQA qa_txt folder." };
        var embedders = new Option<string[]>("--embedder")
        {
            Description = "Similarity measure (repeatable): ngram, policy (the model's token embeddings), visual (the synthetic scenes' designed table), table:FILE.csv, vectors:FILE.json. Default: ngram and policy.",
        };
        var model = new Option<string?>("--model") { Description = "Policy folder for --embedder policy and --evaluate; default the built-in checkpoint." };
        var aggregation = new Option<string>("--aggregation") { Description = "mean (to the answer), max (to the answer) or all-pairs.", DefaultValueFactory = _ => "mean" };
        var stages = new Option<int>("--stages") { Description = "Curriculum stages K (quantile bounds learnt on the data).", DefaultValueFactory = _ => 3 };
        var output = new Option<string?>("--out") { Description = "Write every record with its S(q) per measure and its stage as JSON lines." };
        var evaluate = new Option<bool>("--evaluate") { Description = "Answer every question with the policy (greedy) and report accuracy per S(q) quintile and Spearman's rho per measure (needs the images)." };
        var top = new Option<int>("--top") { Description = "Option sets shown in the histogram table (most frequent first).", DefaultValueFactory = _ => 30 };
        aggregation.AcceptOnlyFromAmong("mean", "max", "all-pairs");
        var loader = new LoaderArguments();
        var command = new Command("similarity", "Score S(q), the similarity of each question's distractors to its answer; print a summary, a histogram per option set and, with --evaluate, accuracy per S(q) quintile.");
        command.Arguments.Add(file);
        loader.AddTo(command);
        foreach (var option in new Option[] { embedders, model, aggregation, stages, output, evaluate, top })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            VqaLoadResult data;
            try
            {
                data = VqaDataLoader.Load(parse.GetValue(file)!, loader.Build(parse));
            }
            catch (VqaDataException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            var samples = data.Samples;
            var agg = parse.GetValue(aggregation) switch { "max" => SimilarityAggregation.MaxToAnswer, "all-pairs" => SimilarityAggregation.MeanAllPairs, _ => SimilarityAggregation.MeanToAnswer };
            var specs = parse.GetValue(embedders) is { Length: > 0 } given ? given : new[] { "ngram", "policy" };
            bool wantEvaluate = parse.GetValue(evaluate);
            IVisionLanguagePolicy? policy = null;
            try
            {
                if (wantEvaluate || specs.Contains("policy"))
                {
                    policy = PolicyRegistry.LoadOrBuiltIn(parse.GetValue(model), "auto");
                }

                var measures = new List<IOptionSimilarity>();
                foreach (string spec in specs)
                {
                    measures.Add(Measure(spec, policy));
                }

                var scored = new List<(IOptionSimilarity Measure, float[] Scores, int[] Stages)>();
                foreach (var measure in measures)
                {
                    var scores = ScoresOf(samples, measure, agg);
                    var estimator = new AnatomicalSimilarityEstimator(new AnatomicalSimilarityOptions { Similarity = measure, Aggregation = agg, StageCount = parse.GetValue(stages) });
                    var transformer = estimator.FitScores(scores);
                    scored.Add((measure, scores, scores.Select(transformer.StageOf).ToArray()));
                }

                RenderSummary(console, parse.GetValue(file)!, samples.Count, scored, agg);
                foreach (var (measure, scores, _) in scored)
                {
                    RenderHistogram(console, samples, measure, scores, parse.GetValue(top));
                }

                if (wantEvaluate)
                {
                    var missing = samples.FirstOrDefault(s => !File.Exists(s.ImagePath));
                    if (missing is not null)
                    {
                        stderr.WriteLine($"error: --evaluate needs the images; {missing.SourceFile} record {missing.RecordIndex} points at '{missing.ImagePath}', which does not exist (use --images and --map).");
                        return ExitCodes.BadInput;
                    }

                    var mc = samples.Where(s => s.IsMultipleChoice).ToList();
                    var evaluation = PolicyEvaluation.Run(policy!, mc);
                    var correct = evaluation.Correct.ToList();
                    console.MarkupLine(Markup.Escape(evaluation.Summary()));
                    var isMc = samples.Select(s => s.IsMultipleChoice).ToArray();
                    var perMeasure = new List<(IOptionSimilarity Measure, List<float> Scores)>();
                    foreach (var (measure, scores, _) in scored)
                    {
                        var mcScores = scores.Where((_, i) => isMc[i]).ToList();
                        RenderDifficulty(console, measure, DifficultyAnalysis.Compute(mcScores, correct));
                        perMeasure.Add((measure, mcScores));
                    }

                    RenderWithinClass(console, mc, correct, perMeasure);
                }

                if (parse.GetValue(output) is string outPath)
                {
                    WriteScored(outPath, samples, scored);
                    console.MarkupLine($"Wrote {samples.Count} scored records to [bold]{Markup.Escape(Path.GetFullPath(outPath))}[/].");
                }

                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException or FileNotFoundException or DirectoryNotFoundException)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }
            finally
            {
                policy?.Dispose();
            }
        });
        return command;
    }

    private static IOptionSimilarity Measure(string spec, IVisionLanguagePolicy? policy) => spec switch
    {
        "ngram" => new CharNGramEmbedder(),
        "policy" => new PolicyTokenEmbedder(policy!),
        "visual" => ClassSimilarityTable.SyntheticVisual(),
        _ when spec.StartsWith("table:", StringComparison.Ordinal) => ClassSimilarityTable.FromCsv(spec["table:".Length..]),
        _ when spec.StartsWith("vectors:", StringComparison.Ordinal) => VectorOptionEmbedder.FromJsonFile(spec["vectors:".Length..]),
        _ => throw new ArgumentException($"--embedder '{spec}' is not one of ngram, policy, visual, table:FILE, vectors:FILE."),
    };

    private static float[] ScoresOf(IReadOnlyList<VqaSample> samples, IOptionSimilarity measure, SimilarityAggregation aggregation)
    {
        var scores = new float[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            try
            {
                scores[i] = OptionSimilarityScore.Compute(samples[i].Options, samples[i].CorrectIndex, measure, aggregation);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{samples[i].SourceFile} record {samples[i].RecordIndex} (line {samples[i].Line}), field options: {ex.Message}", ex);
            }
        }

        return scores;
    }

    private static void RenderSummary(IAnsiConsole console, string path, int count, List<(IOptionSimilarity Measure, float[] Scores, int[] Stages)> scored, SimilarityAggregation aggregation)
    {
        var table = new Table().Title($"S(q) of {count} records in {Markup.Escape(Path.GetFileName(path))} ({aggregation})");
        table.AddColumn("statistic");
        var columns = new List<string[]>();
        foreach (var (measure, scores, stages) in scored)
        {
            table.AddColumn(Markup.Escape(measure.Name));
            var finite = scores.Where(float.IsFinite).Select(s => (double)s).OrderBy(s => s).ToArray();
            double mean = finite.Length == 0 ? double.NaN : finite.Average();
            string Q(double q) => finite.Length == 0 ? "n/a" : F(finite[(int)Math.Round(q * (finite.Length - 1))]);
            var perStage = stages.Where(s => s >= 0).GroupBy(s => s).OrderBy(g => g.Key).Select(g => g.Count().ToString(CultureInfo.InvariantCulture));
            columns.Add(new[]
            {
                finite.Length.ToString(CultureInfo.InvariantCulture), (count - finite.Length).ToString(CultureInfo.InvariantCulture), F(mean),
                finite.Length == 0 ? "n/a" : F(Math.Sqrt(finite.Average(s => (s - mean) * (s - mean)))),
                Q(0), Q(0.1), Q(0.25), Q(0.5), Q(0.75), Q(0.9), Q(1), string.Join(" / ", perStage),
            });
        }

        var names = new[] { "scored", "undefined (open questions)", "mean", "std", "min", "p10", "p25", "median", "p75", "p90", "max", "rows per stage (easy → hard)" };
        for (int r = 0; r < names.Length; r++)
        {
            table.AddRow(new[] { names[r] }.Concat(columns.Select(c => c[r])).ToArray());
        }

        console.Write(table);
    }

    private static void RenderHistogram(IAnsiConsole console, IReadOnlyList<VqaSample> samples, IOptionSimilarity measure, float[] scores, int top)
    {
        var finite = scores.Where(float.IsFinite).ToArray();
        if (finite.Length == 0)
        {
            return;
        }

        float lo = finite.Min(), hi = finite.Max();
        var groups = samples.Select((s, i) => (Set: string.Join(" | ", s.Options.Order(StringComparer.Ordinal)), Score: scores[i]))
            .Where(r => float.IsFinite(r.Score)).GroupBy(r => r.Set).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var table = new Table().Title($"{Markup.Escape(measure.Name)}: S(q) per option set ({groups.Count} sets; histogram over {F(lo)} … {F(hi)} in {HistogramBins} bins)");
        foreach (string h in new[] { "option set", "rows", "mean S(q)", "min", "max", "histogram" })
        {
            table.AddColumn(h);
        }

        foreach (var g in groups.Take(top))
        {
            var counts = new int[HistogramBins];
            foreach (var (_, score) in g)
            {
                int bin = hi > lo ? Math.Min(HistogramBins - 1, (int)((score - lo) / (hi - lo) * HistogramBins)) : 0;
                counts[bin]++;
            }

            table.AddRow(Markup.Escape(g.Key), g.Count().ToString(CultureInfo.InvariantCulture), F(g.Average(r => r.Score)), F(g.Min(r => r.Score)), F(g.Max(r => r.Score)), Bars(counts));
        }

        console.Write(table);
        if (groups.Count > top)
        {
            console.MarkupLine($"({groups.Count - top} less frequent option sets not shown; raise --top.)");
        }
    }

    private static void RenderDifficulty(IAnsiConsole console, IOptionSimilarity measure, DifficultyAnalysis analysis)
    {
        var table = new Table().Title($"{Markup.Escape(measure.Name)}: accuracy per S(q) quintile (n = {analysis.Count}; Spearman rho(S(q), correct) = {F(analysis.Spearman)})");
        foreach (string h in new[] { "quintile", "rows", "S(q) range", "mean S(q)", "accuracy", "± SE" })
        {
            table.AddColumn(h);
        }

        foreach (var bin in analysis.Bins)
        {
            table.AddRow((bin.Index + 1).ToString(CultureInfo.InvariantCulture), bin.Count.ToString(CultureInfo.InvariantCulture), $"{F(bin.MinScore)} … {F(bin.MaxScore)}",
                F(bin.MeanScore), bin.Accuracy.ToString("P1", CultureInfo.InvariantCulture), bin.StandardError.ToString("P1", CultureInfo.InvariantCulture));
        }

        console.Write(table);
    }

    private static void RenderWithinClass(IAnsiConsole console, List<VqaSample> samples, List<bool> correct, List<(IOptionSimilarity Measure, List<float> Scores)> measures)
    {
        // Spearman's rho inside each answer class separates "similar distractors are harder" from "some classes are harder".
        var table = new Table().Title("Spearman rho(S(q), correct) within each answer class");
        table.AddColumn("answer class");
        table.AddColumn("rows");
        table.AddColumn("accuracy");
        foreach (var (measure, _) in measures)
        {
            table.AddColumn(Markup.Escape(measure.Name));
        }

        var classes = samples.Select((s, i) => (Class: s.AnswerClass.Length > 0 ? s.AnswerClass : s.Answer, Index: i)).GroupBy(x => x.Class).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var weighted = new double[measures.Count];
        var weights = new double[measures.Count];
        foreach (var group in classes)
        {
            var rows = group.Select(x => x.Index).ToList();
            var cells = new List<string> { Markup.Escape(group.Key), rows.Count.ToString(CultureInfo.InvariantCulture), rows.Average(i => correct[i] ? 1.0 : 0.0).ToString("P1", CultureInfo.InvariantCulture) };
            for (int m = 0; m < measures.Count; m++)
            {
                double rho = RankCorrelation.Spearman(rows.Select(i => (double)measures[m].Scores[i]).ToArray(), rows.Select(i => correct[i] ? 1.0 : 0.0).ToArray());
                cells.Add(F(rho));
                if (double.IsFinite(rho))
                {
                    weighted[m] += rho * rows.Count;
                    weights[m] += rows.Count;
                }
            }

            table.AddRow(cells.ToArray());
        }

        table.AddRow(new[] { "weighted mean", samples.Count.ToString(CultureInfo.InvariantCulture), "" }.Concat(weighted.Select((w, m) => F(weights[m] > 0 ? w / weights[m] : double.NaN))).ToArray());
        console.Write(table);
    }

    private static void WriteScored(string path, IReadOnlyList<VqaSample> samples, List<(IOptionSimilarity Measure, float[] Scores, int[] Stages)> scored)
    {
        var text = new StringBuilder();
        for (int i = 0; i < samples.Count; i++)
        {
            var record = new Dictionary<string, object?>
            {
                ["sample_id"] = samples[i].SampleId,
                ["source_file"] = samples[i].SourceFile,
                ["record_index"] = samples[i].RecordIndex,
                ["answer"] = samples[i].Answer,
                ["options"] = samples[i].Options,
            };
            foreach (var (measure, scores, stages) in scored)
            {
                record[$"s_q/{measure.Name}"] = float.IsFinite(scores[i]) ? scores[i] : null;
                record[$"stage/{measure.Name}"] = stages[i];
            }

            text.Append(JsonSerializer.Serialize(record)).Append('\n');
        }

        AnatomyR1.IO.AtomicFile.WriteAllText(path, text.ToString());
    }

    private static string Bars(int[] counts)
    {
        const string levels = " ▁▂▃▄▅▆▇█";
        int max = Math.Max(1, counts.Max());
        return new string(counts.Select(c => c == 0 ? '·' : levels[Math.Max(1, (int)Math.Round(c * 8.0 / max))]).ToArray());
    }

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
}
