namespace AnatomyR1.Testing;

/// <summary>
/// Finds the published Anatomy-R1 records: the folder named by ANATOMYR1_SHARED_DATA, else
/// <c>shared/data/anatomy-r1</c> in an ancestor of the running assembly or of the working folder (the repository
/// sits beside <c>shared/</c>). Linked into the test and benchmark projects.
/// </summary>
internal static class SharedDataLocator
{
    /// <summary>The folder holding GRPO.json and GRPO-ASC-Learning.json.</summary>
    /// <returns>The folder.</returns>
    /// <exception cref="InvalidOperationException">The records are not found.</exception>
    public static string AnatomyR1Folder() =>
        TryFind() ?? throw new InvalidOperationException(
            "The published Anatomy-R1 records were not found: expected shared/data/anatomy-r1/GRPO.json beside the repository; "
            + "set ANATOMYR1_SHARED_DATA to their folder.");

    /// <summary>The folder holding the records, or null when they are not found.</summary>
    /// <returns>The folder or null.</returns>
    public static string? TryFind()
    {
        string? overridden = Environment.GetEnvironmentVariable("ANATOMYR1_SHARED_DATA");
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(Path.Combine(overridden, "GRPO.json")) ? overridden : null;
        }

        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "data", "anatomy-r1");
                if (File.Exists(Path.Combine(candidate, "GRPO.json")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
