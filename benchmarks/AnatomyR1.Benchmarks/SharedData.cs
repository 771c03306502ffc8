namespace AnatomyR1.Benchmarks;

/// <summary>Finds the published records beside the repository (or in ANATOMYR1_SHARED_DATA).</summary>
internal static class SharedData
{
    public static string Find(string file)
    {
        string? overridden = Environment.GetEnvironmentVariable("ANATOMYR1_SHARED_DATA");
        if (!string.IsNullOrEmpty(overridden))
        {
            return Path.Combine(overridden, file);
        }

        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "data", "anatomy-r1", file);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"shared/data/anatomy-r1/{file} was not found beside the repository; set ANATOMYR1_SHARED_DATA.");
    }
}
