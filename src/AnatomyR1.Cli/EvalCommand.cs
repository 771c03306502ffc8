using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnatomyR1.Data;
using AnatomyR1.Evaluation;
using AnatomyR1.IO;
using AnatomyR1.Prompts;
using AnatomyR1.TorchSharp.Estimators;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 eval &lt;predictions.jsonl&gt; --data &lt;file&gt;</c>: score predictions against a data file; or
/// <c>anatomy-r1 eval --model DIR --data &lt;file&gt;</c>: answer the questions with a policy (greedy) and score it.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var predictions = new Argument<string?>("predictions")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "Predictions JSONL: one {\"id\"|\"index\": …, \"completion\"|\"letter\"|\"answer\": …} object per line.",
        };
        var data = new Option<string>("--data") { Description = "The data file the predictions answer.", Required = true };
        var strategy = new Option<string>("--strategy")
        {
            Description = "How answers are read from completions: option-text (default), tag-letter (Med-R1) or nearest-option (OmniMedVQA).",
            DefaultValueFactory = _ => "option-text",
        };
        strategy.AcceptOnlyFromAmong("option-text", "tag-letter", "nearest-option");
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON (for scripts)." };
        var model = new Option<string?>("--model") { Description = "Answer the questions with this policy folder (or 'builtin') instead of reading predictions; answers are read with tag-letter." };
        var device = DeviceOption.Create("Device for --model: auto, cpu, cuda or cuda:N.");
        var output = new Option<string?>("--out") { Description = "Also write the metrics JSON to this file." };
        var loader = new LoaderArguments();
        var command = new Command("eval", "Score a predictions JSONL file, or a policy (--model), against a data file: accuracy overall, per class, family, modality and question type; format compliance; confusion matrix.");
        command.Arguments.Add(predictions);
        command.Options.Add(data);
        loader.AddTo(command);
        command.Options.Add(strategy);
        command.Options.Add(json);
        command.Options.Add(output);
        command.Options.Add(model);
        command.Options.Add(device);
        command.SetAction(parse =>
        {
            if ((parse.GetValue(predictions) is null) == (parse.GetValue(model) is null))
            {
                stderr.WriteLine("error: give a predictions file or --model, exactly one of them.");
                return ExitCodes.Usage;
            }

            try
            {
                var loaded = VqaDataLoader.Load(parse.GetValue(data)!, loader.Build(parse));
                var ml = new MLContext(seed: 0);
                var extraction = parse.GetValue(strategy) switch
                {
                    "tag-letter" => AnswerExtractionStrategy.TagLetter,
                    "nearest-option" => AnswerExtractionStrategy.NearestOption,
                    _ => AnswerExtractionStrategy.OptionText,
                };
                int missing = 0;
                VqaEvaluationResult result;
                if (parse.GetValue(model) is string modelFolder)
                {
                    var questions = loaded.Samples.Where(s => s.IsMultipleChoice).ToList();
                    if (questions.FirstOrDefault(s => !File.Exists(s.ImagePath)) is { } absent)
                    {
                        stderr.WriteLine($"error: {absent.SourceFile} record {absent.RecordIndex}, field images: '{absent.ImagePath}' does not exist (use --images and --map).");
                        return ExitCodes.BadInput;
                    }

                    var policy = PolicyRegistry.LoadOrBuiltIn(modelFolder == "builtin" ? null : modelFolder, parse.GetValue(device)!);
                    using var answering = new VlmTransformer(policy);
                    var predicted = answering.Transform(ml.Data.LoadFromEnumerable(questions));
                    result = new VqaEvaluator(new VqaEvaluatorOptions { Strategy = AnswerExtractionStrategy.TagLetter }).Evaluate(predicted);
                }
                else
                {
                    string predictionsPath = parse.GetValue(predictions)!;
                    var records = PredictionFile.Read(predictionsPath);
                    var view = PredictionFile.Join(ml, loaded.Samples, records, predictionsPath, out missing);
                    result = new VqaEvaluator(new VqaEvaluatorOptions { Strategy = extraction }).Evaluate(view);
                }

                string text = result.ToJson();
                if (parse.GetValue(output) is string outPath)
                {
                    AtomicFile.WriteAllText(outPath, text);
                }

                if (parse.GetValue(json))
                {
                    console.Profile.Out.Writer.WriteLine(text);
                }
                else
                {
                    Render(console, result, missing);
                }

                if (missing > 0)
                {
                    stderr.WriteLine($"warning: {missing} record(s) have no prediction; they count as unanswered.");
                }

                foreach (var issue in loaded.Report.Issues)
                {
                    stderr.WriteLine("skipped: " + issue);
                }

                return loaded.Report.SkippedCount == 0 ? ExitCodes.Ok : ExitCodes.BadInput;
            }
            catch (Exception ex) when (ex is VqaDataException or InvalidDataException or SafeTensorsFormatException or DirectoryNotFoundException or FileNotFoundException)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }
        });
        return command;
    }

    private static void Render(IAnsiConsole console, VqaEvaluationResult r, int missing)
    {
        console.MarkupLine($"Accuracy [bold]{Pct(r.Overall.Accuracy)}[/] ± {Pct(r.Overall.StandardError)} ({r.Overall.Correct}/{r.Overall.Count}); unanswered {r.Unanswered}" + (missing > 0 ? $" ({missing} without a prediction)" : string.Empty));
        if (r.FormatCompliance is double format)
        {
            console.MarkupLine($"Format compliance {Pct(format)}");
        }

        Group(console, "Answer class", r.ByClass);
        Group(console, "Question family", r.ByFamily);
        if (r.ByModality.Count > 1)
        {
            Group(console, "Modality", r.ByModality);
        }

        if (r.ByQuestionType.Count > 1)
        {
            Group(console, "Question type", r.ByQuestionType);
        }

        var confusion = new Table().Title("Confusion (rows: truth, columns: prediction)").AddColumn(string.Empty);
        foreach (string label in r.Confusion.Labels)
        {
            confusion.AddColumn(new TableColumn(Markup.Escape(label)).RightAligned());
        }

        for (int t = 0; t < r.Confusion.Labels.Count; t++)
        {
            confusion.AddRow(new[] { Markup.Escape(r.Confusion.Labels[t]) }
                .Concat(r.Confusion.Counts[t].Select(c => c.ToString(CultureInfo.InvariantCulture))).ToArray());
        }

        console.Write(confusion);
    }

    private static string Pct(double value) => (value * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static void Group(IAnsiConsole console, string title, IReadOnlyDictionary<string, GroupAccuracy> groups)
    {
        var table = new Table().AddColumn(title).AddColumn(new TableColumn("N").RightAligned())
            .AddColumn(new TableColumn("Accuracy").RightAligned()).AddColumn(new TableColumn("± s.e.").RightAligned());
        foreach (var (key, g) in groups)
        {
            table.AddRow(Markup.Escape(key), g.Count.ToString(CultureInfo.InvariantCulture), Pct(g.Accuracy), Pct(g.StandardError));
        }

        console.Write(table);
    }
}
