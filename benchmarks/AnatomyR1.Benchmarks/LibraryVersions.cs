using System.Reflection;
using System.Runtime.Loader;
using AnatomyR1.Benchmarks.Driver;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// The two builds of the library a version comparison runs in one process: <c>current</c> (this checkout, referenced
/// by the benchmarks) and <c>baseline</c> (an earlier commit's build of <see cref="WorkloadDriver"/> and the
/// AnatomyR1 assemblies, made by <c>scripts/build-benchmark-baseline.sh</c> into the folder named by the
/// <c>ANATOMYR1_BASELINE</c> environment variable). The baseline's AnatomyR1 assemblies load into their own
/// <see cref="AssemblyLoadContext"/>; TorchSharp, libtorch and every other dependency are shared with the current
/// build, so both run the same native code and differ only in the library's own.
/// </summary>
public static class LibraryVersions
{
    /// <summary>The environment variable that names the baseline build's folder.</summary>
    public const string BaselineVariable = "ANATOMYR1_BASELINE";

    private static Type? s_baselineDriver;

    /// <summary>Creates a <see cref="WorkloadDriver"/> of one version.</summary>
    /// <param name="version"><c>current</c> or <c>baseline</c>.</param>
    /// <param name="arguments">The driver's constructor arguments.</param>
    /// <returns>The driver's workloads as delegates, and a disposer.</returns>
    public static Workloads Create(string version, params object[] arguments)
    {
        var type = version switch
        {
            "current" => typeof(WorkloadDriver),
            "baseline" => BaselineDriver(),
            _ => throw new ArgumentException($"Unknown library version '{version}'; use current or baseline.", nameof(version)),
        };
        object driver = Activator.CreateInstance(type, arguments)!;
        return new Workloads(
            type.GetMethod(nameof(WorkloadDriver.Generate))!.CreateDelegate<Func<long, int[][]>>(driver),
            type.GetMethod(nameof(WorkloadDriver.GrpoStep))!.CreateDelegate<Func<Dictionary<string, double>>>(driver),
            (IDisposable)driver);
    }

    private static Type BaselineDriver()
    {
        if (s_baselineDriver is not null)
        {
            return s_baselineDriver;
        }

        string? folder = Environment.GetEnvironmentVariable(BaselineVariable);
        string driverFile = Path.Combine(folder ?? string.Empty, "AnatomyR1.Benchmarks.Driver.dll");
        if (string.IsNullOrEmpty(folder) || !File.Exists(driverFile))
        {
            throw new InvalidOperationException(
                $"The baseline build was not found: set {BaselineVariable} to the output folder of scripts/build-benchmark-baseline.sh " +
                $"(looked for '{driverFile}').");
        }

        var context = new BaselineContext(Path.GetFullPath(folder));
        s_baselineDriver = context.LoadFromAssemblyPath(Path.GetFullPath(driverFile)).GetType(typeof(WorkloadDriver).FullName!, throwOnError: true)!;
        return s_baselineDriver;
    }

    /// <summary>One version's workloads.</summary>
    /// <param name="Generate">Sampled rollouts of the fixed prompt batch for a seed; returns the completions' ids.</param>
    /// <param name="GrpoStep">One GRPO step; returns its metrics.</param>
    /// <param name="Owner">Frees the driver.</param>
    public sealed record Workloads(Func<long, int[][]> Generate, Func<Dictionary<string, double>> GrpoStep, IDisposable Owner) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => Owner.Dispose();
    }

    /// <summary>Loads the AnatomyR1 assemblies from the baseline folder and leaves every other assembly to the default context.</summary>
    private sealed class BaselineContext(string folder) : AssemblyLoadContext("anatomyr1-baseline")
    {
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            string file = Path.Combine(folder, assemblyName.Name + ".dll");
            return assemblyName.Name!.StartsWith("AnatomyR1", StringComparison.Ordinal) && File.Exists(file) ? LoadFromAssemblyPath(file) : null;
        }
    }
}
