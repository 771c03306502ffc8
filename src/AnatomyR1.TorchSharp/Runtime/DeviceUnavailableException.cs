namespace AnatomyR1.TorchSharp.Runtime;

/// <summary>
/// A well-formed device was asked for that this process cannot use: CUDA without a CUDA build of libtorch, or a CUDA
/// index beyond the visible devices. A fault of the environment, not of the input (the command line exits with its
/// "environment" code).
/// </summary>
public sealed class DeviceUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was asked for and what is available.</param>
    public DeviceUnavailableException(string message)
        : base(message)
    {
    }
}
