namespace AnatomyR1.Data;

/// <summary>Internal signal that one record is bad; the loader adds the file, record index and line.</summary>
internal sealed class RecordError : Exception
{
    public RecordError(string? field, string message)
        : base(message)
    {
        Field = field;
    }

    public string? Field { get; }
}
