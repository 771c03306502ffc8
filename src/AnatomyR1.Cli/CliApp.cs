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
    /// <returns>The exit code: 0 ok, 1 bad input, 2 usage error.</returns>
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

        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr };
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine("error: " + error.Message);
            }

            stderr.WriteLine("Run 'anatomy-r1 --help' for usage.");
            return ExitCodes.Usage;
        }

        return parse.Invoke(invocation);
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
