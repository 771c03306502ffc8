namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Finds the published records beside the repository (or in ANATOMYR1_SHARED_DATA).</summary>
internal static class SharedData
{
    public static string AnatomyR1Folder()
    {
        string? overridden = Environment.GetEnvironmentVariable("ANATOMYR1_SHARED_DATA");
        if (!string.IsNullOrEmpty(overridden))
        {
            return overridden;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "anatomy-r1");
            if (File.Exists(Path.Combine(candidate, "GRPO.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("shared/data/anatomy-r1 was not found beside the repository; set ANATOMYR1_SHARED_DATA.");
    }
}
