namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// The built-in warm-started checkpoint (<c>models/anatomy-r1-tiny-warmstart</c>, shipped beside the assemblies):
/// the tiny policy after supervised training on synthetic reasoning traces. It writes well-formed answers but is far
/// from perfect, which leaves reinforcement learning room to improve it.
/// </summary>
public static class BuiltInPolicy
{
    /// <summary>The checkpoint's folder name.</summary>
    public const string Name = "anatomy-r1-tiny-warmstart";

    /// <summary>Where the checkpoint is looked for: <c>models/&lt;name&gt;</c> beside the application, then in the working folder's ancestors.</summary>
    /// <returns>The folder.</returns>
    /// <exception cref="DirectoryNotFoundException">The checkpoint is not installed.</exception>
    public static string Folder()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "models", Name);
                if (File.Exists(Path.Combine(candidate, PolicyRegistry.ConfigFile)) && File.Exists(Path.Combine(candidate, "model.safetensors")))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException($"The built-in checkpoint models/{Name} was not found beside the application or in the working folder's ancestors.");
    }

    /// <summary>Loads the built-in checkpoint.</summary>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <returns>The policy.</returns>
    public static IVisionLanguagePolicy Load(string device = "auto") => PolicyRegistry.Load(Folder(), device);
}
