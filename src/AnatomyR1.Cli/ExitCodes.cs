namespace AnatomyR1.Cli;

/// <summary>Process exit codes of the <c>anatomy-r1</c> command, one per kind of outcome.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The input is bad: a data file, image, model folder or checkpoint (the message names the file, and the record or line and field where there is one).</summary>
    public const int BadInput = 1;

    /// <summary>The command line is wrong (unknown command or option, missing argument, bad value, unknown device spelling).</summary>
    public const int Usage = 2;

    /// <summary>The environment cannot do what was asked: a device that is not available (CUDA without a CUDA libtorch), a full disk, a file that cannot be written.</summary>
    public const int Environment = 3;

    /// <summary>An unexpected internal failure (a defect: please report it with the output of <c>--verbose</c>).</summary>
    public const int Internal = 70;

    /// <summary>Training stopped on SIGHUP (the terminal went away): a checkpoint was written; <c>--resume</c> continues.</summary>
    public const int HungUp = 129;

    /// <summary>Training was interrupted (Ctrl-C or <c>--stop-after</c>): a checkpoint was written; <c>--resume</c> continues.</summary>
    public const int Interrupted = 130;

    /// <summary>Training stopped on SIGTERM (docker stop, Kubernetes, Slurm, systemd): a checkpoint was written; <c>--resume</c> continues.</summary>
    public const int Terminated = 143;
}
