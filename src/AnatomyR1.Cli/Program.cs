namespace AnatomyR1.Cli;

/// <summary>Entry point of the <c>anatomy-r1</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static int Main(string[] args)
    {
        int code = CliApp.Run(args, Console.Out, Console.Error);

        // A process started by mpirun finalises MPI before it exits (Open MPI treats an exit without it as a failure).
        AnatomyR1.TorchSharp.Distributed.OpenMpiProcessGroup.Current?.Dispose();
        return code;
    }
}
