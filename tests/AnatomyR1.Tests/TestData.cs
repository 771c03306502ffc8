using System.Runtime.CompilerServices;

namespace AnatomyR1.Tests;

/// <summary>Locations of the test data: the fixtures shipped with the tests and the real records beside the repository.</summary>
internal static class TestData
{
    /// <summary>The repository root (the folder holding AnatomyR1.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The fixtures folder copied to the test output.</summary>
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>
    /// The real Anatomy-R1 records: <c>../shared/data/anatomy-r1</c> relative to the repository root (or any ancestor's
    /// <c>shared/data/anatomy-r1</c>), overridable with ANATOMYR1_SHARED_DATA.
    /// </summary>
    public static string SharedAnatomyR1 { get; } = FindShared();

    public static string GrpoJson => Path.Combine(SharedAnatomyR1, "GRPO.json");

    public static string AscJson => Path.Combine(SharedAnatomyR1, "GRPO-ASC-Learning.json");

    private static string FindRepoRoot([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AnatomyR1.sln")))
            {
                return dir.FullName;
            }
        }

        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));
    }

    private static string FindShared()
    {
        string? overridden = Environment.GetEnvironmentVariable("ANATOMYR1_SHARED_DATA");
        if (!string.IsNullOrEmpty(overridden))
        {
            return overridden;
        }

        for (var dir = new DirectoryInfo(RepoRoot).Parent; dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "anatomy-r1");
            if (File.Exists(Path.Combine(candidate, "GRPO.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            "The real Anatomy-R1 records were not found: expected shared/data/anatomy-r1/GRPO.json beside the repository "
            + $"(searched the ancestors of {RepoRoot}); set ANATOMYR1_SHARED_DATA to their folder.");
    }
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
