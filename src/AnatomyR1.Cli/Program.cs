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
        var job = AnatomyR1.TorchSharp.Distributed.OpenMpiProcessGroup.Current;
        if (job is { Size: > 1 } && code is not (ExitCodes.Ok or ExitCodes.Interrupted or ExitCodes.Terminated or ExitCodes.HungUp))
        {
            // An error that one process found alone (its data path, its run folder): the others may be waiting in a
            // collective, and finalising would wait for them; end the whole job instead.
            Console.Error.Flush();
            job.Abort(code);
        }

        // A process started by mpirun finalises MPI before it exits (Open MPI treats an exit without it as a failure).
        job?.Dispose();
        return code;
    }
}
