namespace AnatomyR1.Cli;

/// <summary>Process exit codes of the <c>anatomy-r1</c> command.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The input data is bad (the message names file, record or line, and field).</summary>
    public const int BadInput = 1;

    /// <summary>The command line is wrong (unknown command or option, missing argument, bad value).</summary>
    public const int Usage = 2;

    /// <summary>Training was interrupted (Ctrl-C): a checkpoint was written; <c>--resume</c> continues.</summary>
    public const int Interrupted = 130;
}
