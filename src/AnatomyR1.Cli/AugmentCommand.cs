using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AnatomyR1.Augmentation;
using AnatomyR1.Data;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 augment &lt;data&gt;… --variants K</c>: GDQA question forms for every record; prints per question family
/// how many records were augmented and how many could not be parsed (left alone), and optionally writes the forms as
/// JSON lines.
/// </summary>
internal static class AugmentCommand
{
    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var files = new Argument<string[]>("data") { Description = "Data files (any supported format).", Arity = ArgumentArity.OneOrMore };
        var variants = new Option<int>("--variants") { Description = "K: forms per record, the original included.", DefaultValueFactory = _ => 4 };
        var output = new Option<string?>("--out") { Description = "Write every record with its forms as JSON lines." };
        var seed = new Option<int>("--seed") { Description = "Seed of the variants.", DefaultValueFactory = _ => 0 };
        var noScene = new Option<bool>("--no-scene-graph") { Description = "Do not re-refer to synthetic targets through their scene graphs." };
        var noRephrase = new Option<bool>("--no-rephrase") { Description = "Do not render questions with other templates." };
        var noSynonyms = new Option<bool>("--no-synonyms") { Description = "Do not swap relation wordings." };
        var noPermute = new Option<bool>("--no-permute") { Description = "Keep the option order of every form." };
        var loader = new LoaderArguments();
        var command = new Command("augment", "Build answer-preserving question variants (GDQA) for every record; report per family what was augmented and what could not be parsed.");
        command.Arguments.Add(files);
        loader.AddTo(command);
        foreach (var option in new Option[] { variants, output, seed, noScene, noRephrase, noSynonyms, noPermute })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            QuestionAugmenter augmenter;
            try
            {
                augmenter = new QuestionAugmenter(new GroupDiversityOptions
                {
                    VariantCount = parse.GetValue(variants), Difficulty = DifficultySelection.All, Seed = parse.GetValue(seed),
                    SceneGraphReferences = !parse.GetValue(noScene), Rephrase = !parse.GetValue(noRephrase),
                    RelationSynonyms = !parse.GetValue(noSynonyms), PermuteOptions = !parse.GetValue(noPermute),
                });
            }
            catch (ArgumentException ex)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.Usage;
            }

            var rows = new List<(VqaSample Sample, AugmentationResult Result)>();
            try
            {
                foreach (string path in parse.GetValue(files)!)
                {
                    foreach (var sample in VqaDataLoader.Load(path, loader.Build(parse)).Samples)
                    {
                        rows.Add((sample, augmenter.Augment(sample)));
                    }
                }
            }
            catch (Exception ex) when (ex is VqaDataException or InvalidDataException)
            {
                stderr.WriteLine("error: " + ex.Message);
                return ExitCodes.BadInput;
            }

            Render(console, rows, parse.GetValue(variants));
            if (parse.GetValue(output) is string outPath)
            {
                Write(outPath, rows);
                console.MarkupLine($"Wrote {rows.Count} records with their forms to [bold]{Markup.Escape(Path.GetFullPath(outPath))}[/].");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Render(IAnsiConsole console, List<(VqaSample Sample, AugmentationResult Result)> rows, int k)
    {
        var table = new Table().Title($"GDQA over {rows.Count} records (K = {k} forms, original included)");
        foreach (string h in new[] { "family", "records", "augmented", "not parsed", "no variant", "not MC", "new forms" })
        {
            table.AddColumn(h);
        }

        var families = rows.GroupBy(r => QuestionFamilyClassifier.Classify(r.Sample.Question).ToString()).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        foreach (var g in families.Append(rows.GroupBy(_ => "all").Single()))
        {
            int Count(AugmentationStatus s) => g.Count(r => r.Result.Status == s);
            table.AddRow(g.Key, N(g.Count()), N(Count(AugmentationStatus.Augmented)), N(Count(AugmentationStatus.Unparsed)), N(Count(AugmentationStatus.NoVariants)),
                N(Count(AugmentationStatus.NotMultipleChoice)), N(g.Sum(r => r.Result.Variants.Count - 1)));
        }

        console.Write(table);
        var generators = new Table().Title("New forms by generator");
        generators.AddColumn("generator");
        generators.AddColumn("forms");
        foreach (var g in rows.SelectMany(r => r.Result.Variants.Skip(1)).GroupBy(v => v.Generator).OrderByDescending(x => x.Count()))
        {
            generators.AddRow(Markup.Escape(g.Key), N(g.Count()));
        }

        console.Write(generators);
        foreach (var (sample, _) in rows.Where(r => r.Result.Status == AugmentationStatus.Unparsed).Take(5))
        {
            console.MarkupLine(Markup.Escape($"not parsed, left as is: {sample.SourceFile} record {sample.RecordIndex}: \"{sample.Question}\""));
        }
    }

    private static void Write(string path, List<(VqaSample Sample, AugmentationResult Result)> rows)
    {
        var text = new StringBuilder();
        foreach (var (sample, result) in rows)
        {
            var record = new
            {
                sample_id = sample.SampleId,
                source_file = sample.SourceFile,
                record_index = sample.RecordIndex,
                family = QuestionFamilyClassifier.Classify(sample.Question).ToString(),
                status = result.Status.ToString(),
                variants = result.Variants.Select(v => new { question = v.Question, options = v.Options, correct_letter = v.CorrectLetter, generator = v.Generator }),
            };
            text.Append(JsonSerializer.Serialize(record)).Append('\n');
        }

        AnatomyR1.IO.AtomicFile.WriteAllText(path, text.ToString());
    }

    private static string N(int v) => v.ToString(CultureInfo.InvariantCulture);
}
