using System.CommandLine;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>Builds and runs the <c>anatomy-r1</c> command tree.</summary>
public static class CliApp
{
    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Where normal output goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>): 0 ok, 1 bad input, 2 usage error, 3 environment, 70 internal error, 129/130/143 training stopped by SIGHUP/Ctrl-C/SIGTERM with a checkpoint.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var console = CreateConsole(stdout);
        var root = new RootCommand("AnatomyR1: GRPO with anatomical curriculum and question augmentation for anatomy VQA.")
        {
            InspectCommand.Create(console, stderr),
            EvalCommand.Create(console, stderr),
            SynthCommand.Create(console, stderr),
            WarmStartCommand.Create(console, stderr),
            SimilarityCommand.Create(console, stderr),
            AugmentCommand.Create(console, stderr),
            TrainCommand.Create(console, stderr),
            DemoCommand.Create(console, stderr),
            ScoreCommand.Create(console, stderr),
        };

        root.Options.Add(Verbose);
        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine("error: " + error.Message);
            }

            stderr.WriteLine("Run 'anatomy-r1 --help' for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return parse.Invoke(invocation);
        }
        catch (Exception ex)
        {
            // Every failure is one line; the stack trace only with --verbose.
            var (code, prefix) = Classify(ex);
            var job = AnatomyR1.TorchSharp.Distributed.OpenMpiProcessGroup.Current;
            if (job is { Size: > 1 })
            {
                prefix = $"process {job.Rank} of {job.Size}: " + prefix;
            }

            stderr.WriteLine("error: " + prefix + OneLine(ex));
            if (parse.GetValue(Verbose))
            {
                stderr.WriteLine(ex.ToString());
            }

            if (job is { Size: > 1 })
            {
                // The other processes may be waiting in a collective: end the whole job rather than leave them hanging.
                stderr.Flush();
                job.Abort(code);
            }

            return code;
        }
    }

    /// <summary>The global <c>--verbose</c> option: print stack traces with errors.</summary>
    internal static Option<bool> Verbose { get; } = new("--verbose") { Description = "Print the stack trace with an error.", Recursive = true };

    /// <summary>The exit code and message prefix for an exception that reached the top of a command.</summary>
    internal static (int Code, string Prefix) Classify(Exception ex) => ex switch
    {
        AnatomyR1.TorchSharp.Runtime.DeviceUnavailableException => (ExitCodes.Environment, string.Empty),
        OperationCanceledException => (ExitCodes.Interrupted, string.Empty),
        AnatomyR1.TorchSharp.Training.Grpo.GrpoSettingsMismatchException => (ExitCodes.Usage, string.Empty),
        AnatomyR1.Data.VqaDataException or InvalidDataException or AnatomyR1.TorchSharp.Policy.SafeTensorsFormatException
            or FileNotFoundException or DirectoryNotFoundException or System.Text.Json.JsonException or ArgumentException
            or AnatomyR1.IO.FileRefusedException => (ExitCodes.BadInput, string.Empty),
        UnauthorizedAccessException or IOException or OutOfMemoryException or InsufficientExecutionStackException => (ExitCodes.Environment, string.Empty),
        _ => (ExitCodes.Internal, "internal error (" + ex.GetType().Name + "): "),
    };

    private static string OneLine(Exception ex)
    {
        string message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!message.Contains(inner.Message, StringComparison.Ordinal))
            {
                message += " (" + inner.Message + ")";
            }
        }

        return string.Join(' ', message.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
    }

    private static IAnsiConsole CreateConsole(TextWriter stdout)
    {
        bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }
}
