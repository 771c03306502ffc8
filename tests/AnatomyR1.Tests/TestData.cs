namespace AnatomyR1.Tests;

/// <summary>Locations of the test data: the fixtures shipped with the tests and the real records beside the repository.</summary>
internal static class TestData
{
    /// <summary>The fixtures folder copied to the test output.</summary>
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>The real Anatomy-R1 records (see <see cref="AnatomyR1.Testing.SharedDataLocator"/>).</summary>
    public static string SharedAnatomyR1 => AnatomyR1.Testing.SharedDataLocator.AnatomyR1Folder();

    public static string GrpoJson => Path.Combine(SharedAnatomyR1, "GRPO.json");

    public static string AscJson => Path.Combine(SharedAnatomyR1, "GRPO-ASC-Learning.json");
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("anatomyr1-test").FullName;

    public string Path { get; }

    public string File(string name, string content)
    {
        string full = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return full;
    }

    public string File(string name, byte[] content)
    {
        string full = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
