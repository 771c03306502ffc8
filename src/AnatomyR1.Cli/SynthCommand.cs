using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary><c>anatomy-r1 synth --out DIR --count N --seed S --size PX [--families …]</c>: write the synthetic dataset.</summary>
internal static class SynthCommand
{
    private static readonly Dictionary<string, QuestionFamily> FamilyNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["positional"] = QuestionFamily.Positional,
        ["attribute"] = QuestionFamily.Attribute,
        ["one-hop"] = QuestionFamily.OneHop,
        ["two-hop"] = QuestionFamily.TwoHop,
        ["rephrased"] = QuestionFamily.Rephrased,
    };

    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var output = new Option<string>("--out") { Description = "Folder to create (must not exist or be empty, unless --overwrite).", Required = true };
        var count = new Option<int>("--count") { Description = "Question records to write.", DefaultValueFactory = _ => 2000 };
        var seed = new Option<int>("--seed") { Description = "Seed; same seed and options give byte-identical output.", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Image side in pixels.", DefaultValueFactory = _ => 64 };
        var perScene = new Option<int>("--questions-per-scene") { Description = "Questions per scene (1–4).", DefaultValueFactory = _ => 1 };
        var families = new Option<string[]>("--families")
        {
            Description = "Families to generate, equally weighted: positional, attribute, one-hop, two-hop, rephrased (default: all).",
            AllowMultipleArgumentsPerToken = true,
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder." };
        var noColourTargets = new Option<bool>("--no-colour-targets")
        {
            Description = "Never describe a question's target by its colour word.",
        };
        var allowShortcuts = new Option<bool>("--allow-text-shortcuts")
        {
            Description = "Allow target colour words that only the correct option carries (the text then gives the answer away).",
        };
        count.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--count must be at least 1."); });
        size.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 16 or > 1024) r.AddError("--size must be 16–1024."); });
        perScene.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 4) r.AddError("--questions-per-scene must be 1–4."); });
        families.Validators.Add(r =>
        {
            foreach (var token in r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)))
            {
                if (!FamilyNames.ContainsKey(token))
                {
                    r.AddError($"--families: unknown family '{token}'; use {string.Join(", ", FamilyNames.Keys)}.");
                }
            }
        });

        var command = new Command("synth", "Write the synthetic SSG-VQA-style dataset: PNG scenes, scene graphs, and train/val/test questions in the Anatomy-R1 format.")
        {
            output, count, seed, size, perScene, families, overwrite, noColourTargets, allowShortcuts,
        };
        command.SetAction(parse =>
        {
            var options = new SyntheticDatasetOptions
            {
                Count = parse.GetValue(count),
                Seed = parse.GetValue(seed),
                ImageSize = parse.GetValue(size),
                QuestionsPerScene = parse.GetValue(perScene),
                ColourWordsInTargets = !parse.GetValue(noColourTargets),
                AllowTextShortcuts = parse.GetValue(allowShortcuts),
            };
            var chosen = (parse.GetValue(families) ?? Array.Empty<string>()).SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
            if (chosen.Count > 0)
            {
                options.FamilyWeights.Clear();
                foreach (string name in chosen)
                {
                    options.FamilyWeights[FamilyNames[name]] = 1.0;
                }
            }

            int scenes = (options.Count + options.QuestionsPerScene - 1) / options.QuestionsPerScene;
            var clock = Stopwatch.StartNew();
            SyntheticDatasetSummary summary;
            try
            {
                if (console.Profile.Capabilities.Interactive)
                {
                    summary = null!;
                    console.Progress().Start(ctx =>
                    {
                        var task = ctx.AddTask("Rendering scenes", maxValue: scenes);
                        summary = SyntheticDatasetWriter.Write(parse.GetValue(output)!, options, parse.GetValue(overwrite),
                            new Progress<int>(n => task.Value = Math.Max(task.Value, n)));
                        task.Value = scenes;
                    });
                }
                else
                {
                    summary = SyntheticDatasetWriter.Write(parse.GetValue(output)!, options, parse.GetValue(overwrite));
                }
            }
            catch (IOException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            double seconds = clock.Elapsed.TotalSeconds;
            console.MarkupLine($"Wrote [green]{summary.Records}[/] records about {summary.Scenes} scenes to [bold]{Markup.Escape(summary.Folder)}[/] in {seconds.ToString("0.0", CultureInfo.InvariantCulture)} s "
                + $"({(summary.Scenes / Math.Max(seconds, 1e-9)).ToString("0", CultureInfo.InvariantCulture)} scenes/s).");
            console.MarkupLine($"train.json {summary.RecordsPerSplit["train"]} · val.json {summary.RecordsPerSplit["val"]} · test.json {summary.RecordsPerSplit["test"]}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
