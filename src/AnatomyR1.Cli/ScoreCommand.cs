using System.CommandLine;
using System.Text;
using System.Text.Json;
using AnatomyR1.Data;
using AnatomyR1.IO;
using AnatomyR1.TorchSharp.Policy;
using Spectre.Console;
using static TorchSharp.torch;

namespace AnatomyR1.Cli;

/// <summary>
/// <c>anatomy-r1 score --model DIR|builtin --data FILE --out FILE.jsonl [--greedy-tokens N]</c>: for every record, the
/// prompt the policy sees, its token ids (image placeholders expanded), the log-probability of each token of the
/// record's <c>completion</c> (when it has one) and the greedy continuation. This is how a checkpoint is checked
/// against another implementation.
/// </summary>
internal static class ScoreCommand
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(IAnsiConsole console, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "A policy folder (any registered model type, e.g. a Hugging Face Qwen2.5-VL folder) or 'builtin'.", Required = true };
        var data = new Option<string>("--data") { Description = "The data file whose records are scored.", Required = true };
        var output = new Option<string>("--out") { Description = "The JSONL file to write (one object per record).", Required = true };
        var greedy = new Option<int>("--greedy-tokens") { Description = "Length of the greedy continuation (0 = none).", DefaultValueFactory = _ => 12 };
        var device = DeviceOption.Create("auto, cpu, cuda or cuda:N.");
        var loader = new LoaderArguments();
        var command = new Command("score", "Write, per record, the policy's prompt and prompt ids, the log-probabilities of the record's completion tokens (natural log, temperature 1) and the greedy continuation.");
        command.Options.Add(model);
        command.Options.Add(data);
        command.Options.Add(output);
        command.Options.Add(greedy);
        command.Options.Add(device);
        loader.AddTo(command);
        command.SetAction(parse =>
        {
            int greedyTokens = parse.GetValue(greedy);
            if (greedyTokens < 0)
            {
                stderr.WriteLine("error: --greedy-tokens must be 0 or more.");
                return ExitCodes.Usage;
            }

            try
            {
                var loaded = VqaDataLoader.Load(parse.GetValue(data)!, loader.Build(parse));
                string modelFolder = parse.GetValue(model)!;
                using var policy = PolicyRegistry.LoadOrBuiltIn(modelFolder == "builtin" ? null : modelFolder, parse.GetValue(device)!);
                var lines = new StringBuilder();
                int scored = 0;
                foreach (var sample in loaded.Samples)
                {
                    lines.AppendLine(JsonSerializer.Serialize(Score(policy, sample, greedyTokens), Json));
                    scored++;
                }

                AtomicFile.WriteAllText(parse.GetValue(output)!, lines.ToString());
                console.MarkupLine($"Scored {scored} record(s) with {Markup.Escape(policy.ModelType)} → {Markup.Escape(parse.GetValue(output)!)}");
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

    /// <summary>Scores one record.</summary>
    internal static Dictionary<string, object> Score(IVisionLanguagePolicy policy, VqaSample sample, int greedyTokens)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        PreparedImage prepared;
        try
        {
            prepared = policy.ImageProcessor.Prepare(PolicyImage.FromFile(sample.ImagePath));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{sample.SourceFile} record {sample.RecordIndex}, field images: {ex.Message}", ex);
        }

        using var images = policy.ImageProcessor.Collate(new[] { prepared }, policy.Device);
        string prompt = policy.FormatPrompt(sample.Question, sample.Options);
        using var prompts = policy.EncodePrompts(new[] { prompt });
        var promptIds = prompts.Ids.cpu().data<long>().Select(v => (int)v).ToList();
        var result = new Dictionary<string, object>
        {
            ["id"] = sample.SampleId,
            ["image"] = sample.ImagePath,
            ["prompt"] = prompt,
            ["prompt_ids"] = policy.ExpandImageTokens(promptIds, prepared.TokenCount),
        };
        if (!string.IsNullOrEmpty(sample.TargetCompletion))
        {
            using var completions = policy.EncodeCompletions(new[] { sample.TargetCompletion });
            using var logProbs = policy.CompletionLogProbs(images, prompts, completions);
            result["completion_ids"] = completions.Ids.cpu().data<long>().Select(v => (int)v).ToArray();
            result["logprobs"] = logProbs.cpu().data<float>().ToArray();
        }

        if (greedyTokens > 0)
        {
            using var generated = policy.Generate(images, prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = greedyTokens });
            long[] ids = generated.Completions.Ids.cpu().data<long>().ToArray();
            long[] mask = generated.Completions.Mask.cpu().data<long>().ToArray();
            result["greedy_ids"] = ids.Where((_, i) => mask[i] != 0).Select(v => (int)v).ToArray();
            result["greedy"] = generated.Texts[0];
        }

        return result;
    }
}
