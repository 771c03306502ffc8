namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>GRPO training cannot go on (for example, too many non-finite steps in a row).</summary>
public sealed class GrpoTrainingException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public GrpoTrainingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GrpoTrainingException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The cause.</param>
    public GrpoTrainingException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
