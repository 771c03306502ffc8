using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnatomyR1.Data;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary><c>anatomy-r1 inspect &lt;file&gt;</c>: load and validate a data file, print counts and the error report.</summary>
internal static class InspectCommand
{
    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var file = new Argument<string>("file") { Description = "Data file (Anatomy-R1 or OmniMedVQA JSON, SSG-VQA .txt) or an SSG-VQA qa_txt folder." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (for scripts)." };
        var loader = new LoaderArguments();
        var command = new Command("inspect", "Load and validate a data file; print counts per class, family and option count, and the error report.");
        command.Arguments.Add(file);
        loader.AddTo(command);
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            bool asJson = parse.GetValue(json);
            VqaLoadResult result;
            try
            {
                result = VqaDataLoader.Load(path, loader.Build(parse));
            }
            catch (VqaDataException ex)
            {
                if (asJson)
                {
                    console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(new { ok = false, error = ex.Issue }, CliJson.Options));
                }

                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            var summary = InspectSummary.From(result);
            if (asJson)
            {
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(summary, CliJson.Options));
            }
            else
            {
                Render(console, summary);
            }

            foreach (var issue in result.Report.Issues)
            {
                stderr.WriteLine("skipped: " + issue);
            }

            return result.Report.SkippedCount == 0 ? ExitCodes.Ok : ExitCodes.BadInput;
        });
        return command;
    }

    private static void Render(IAnsiConsole console, InspectSummary s)
    {
        console.MarkupLine($"[bold]{Markup.Escape(s.Source)}[/] ({s.Format})");
        console.MarkupLine($"Loaded [green]{s.Loaded}[/] of {s.Input} records; skipped [{(s.Skipped > 0 ? "red" : "green")}]{s.Skipped}[/].");
        RenderCounts(console, "Answer class", s.Classes);
        RenderCounts(console, "Question family", s.Families);
        RenderCounts(console, "Options", s.OptionCounts);
        if (s.Modalities.Count > 1 || s.Modalities.Keys.Any(k => k.Length > 0 && k != "Endoscopy"))
        {
            RenderCounts(console, "Modality", s.Modalities);
        }

        if (s.Issues.Count > 0)
        {
            var table = new Table().Title("[red]Skipped records[/]").AddColumn("Record").AddColumn("Line").AddColumn("Field").AddColumn("Problem");
            foreach (var issue in s.Issues)
            {
                table.AddRow(
                    issue.RecordIndex?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    issue.Line?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    Markup.Escape(issue.Field ?? "-"),
                    Markup.Escape(issue.Message));
            }

            console.Write(table);
        }
    }

    private static void RenderCounts(IAnsiConsole console, string title, IReadOnlyDictionary<string, int> counts)
    {
        var table = new Table().AddColumn(title).AddColumn(new TableColumn("Records").RightAligned());
        foreach (var (key, count) in counts)
        {
            table.AddRow(Markup.Escape(key.Length == 0 ? "(none)" : key), count.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(table);
    }
}

/// <summary>The data behind <c>inspect</c>'s output (also its JSON form).</summary>
internal sealed record InspectSummary(
    string Source,
    string Format,
    int Input,
    int Loaded,
    int Skipped,
    IReadOnlyDictionary<string, int> Classes,
    IReadOnlyDictionary<string, int> Families,
    IReadOnlyDictionary<string, int> OptionCounts,
    IReadOnlyDictionary<string, int> Modalities,
    IReadOnlyList<VqaLoadIssue> Issues)
{
    public bool Ok => Skipped == 0;

    public static InspectSummary From(VqaLoadResult result)
    {
        var samples = result.Samples;
        return new InspectSummary(
            result.Report.Source,
            result.Report.Format.ToString(),
            result.Report.InputCount,
            result.Report.LoadedCount,
            result.Report.SkippedCount,
            Count(samples.Select(s => s.AnswerClass)),
            Count(samples.Select(s => s.QuestionFamily)),
            Count(samples.Select(s => s.Options.Length.ToString(CultureInfo.InvariantCulture))),
            Count(samples.Select(s => s.Modality)),
            result.Report.Issues);
    }

    private static SortedDictionary<string, int> Count(IEnumerable<string> keys) =>
        new(keys.GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);
}
