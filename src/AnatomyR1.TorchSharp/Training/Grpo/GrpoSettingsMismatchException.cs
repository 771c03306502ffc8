namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// A run cannot be resumed because the settings or the training data given now differ from those recorded in its
/// checkpoint; the message names every difference.
/// </summary>
public sealed class GrpoSettingsMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message naming the differences.</param>
    /// <param name="settings">The names of the settings that differ.</param>
    public GrpoSettingsMismatchException(string message, IReadOnlyList<string> settings)
        : base(message)
    {
        Settings = settings;
    }

    /// <summary>The names of the settings that differ (<c>data</c> for the training data).</summary>
    public IReadOnlyList<string> Settings { get; }
}
