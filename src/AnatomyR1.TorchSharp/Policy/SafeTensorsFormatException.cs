namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Thrown when a safetensors file breaks the format's rules: a header length out of range, a header that is not
/// strict UTF-8 JSON, duplicate names, an unknown dtype, a shape that does not match its byte range, byte ranges
/// that overlap, leave gaps or do not cover the data exactly, or a file that ends early. The message names the file
/// and, where one is at fault, the tensor. It is an <see cref="IOException"/> (the framework's
/// <see cref="InvalidDataException"/> is sealed); <see cref="SafeTensors.Deserialize"/>, whose contract predates this
/// type, reports the same problems as an <see cref="InvalidDataException"/> with the same message and this exception
/// as its inner exception.
/// </summary>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="fileName">The file (or the name given to in-memory content).</param>
    /// <param name="tensorName">The tensor at fault, or null when the problem is not one tensor's.</param>
    /// <param name="problem">What is wrong, as a sentence fragment.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public SafeTensorsFormatException(string fileName, string? tensorName, string problem, Exception? inner = null)
        : base(Compose(fileName, tensorName, problem), inner)
    {
        FileName = fileName;
        TensorName = tensorName;
    }

    /// <summary>The file (or the name given to in-memory content).</summary>
    public string FileName { get; }

    /// <summary>The tensor at fault, or null when the problem is not one tensor's.</summary>
    public string? TensorName { get; }

    private static string Compose(string fileName, string? tensorName, string problem) =>
        tensorName is null
            ? $"{fileName}: not a valid safetensors file: {problem}."
            : $"{fileName}: not a valid safetensors file: tensor '{tensorName}': {problem}.";
}
