using AnatomyR1.Build;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// The build-time fix that lets libLibTorchSharp.so load on hosts with an older libstdc++ (see
/// nuget/buildTransitive/ElfVersionNeeds.cs), tested on the real shim from the package and on copies.
/// </summary>
public sealed class LibStdCxxPatchTests
{
    private const string Version = "GLIBCXX_3.4.32";
    private const string Symbol = "_ZSt21ios_base_library_initv";

    private static string PackageShim()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's shim was expected at {path} after restore.");
        return path;
    }

    private static string OutputShim()
    {
        string dir = AppContext.BaseDirectory;
        string[] candidates = { Path.Combine(dir, "libLibTorchSharp.so"), Path.Combine(dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so") };
        string? found = candidates.FirstOrDefault(File.Exists);
        Assert.True(found != null, "libLibTorchSharp.so is not in the test output folder.");
        return found!;
    }

    [Fact]
    public void PackageShimNeedsTheVersionOnlyForOneUnrelocatedSymbol()
    {
        byte[] elf = File.ReadAllBytes(PackageShim());
        var need = Assert.Single(ElfVersionNeeds.ReadNeeds(elf), n => n.Version == Version);
        Assert.Equal("libstdc++.so.6", need.Library);
        Assert.False(need.IsWeak, "the package cache copy must never be patched");

        var (symbols, relocated) = ElfVersionNeeds.SymbolsBoundTo(elf, need.Index);
        Assert.Equal(new[] { Symbol }, symbols);
        Assert.False(relocated);
    }

    [Fact]
    public void OutputShimIsWeakExactlyWhenTheHostLacksTheVersion()
    {
        string? libstdcxx = ElfVersionNeeds.FindHostLibStdCxx();
        Assert.NotNull(libstdcxx);
        bool hostHasIt = ElfVersionNeeds.ReadDefinedVersions(File.ReadAllBytes(libstdcxx!)).Contains(Version);
        var need = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(OutputShim())).Single(n => n.Version == Version);
        Assert.Equal(!hostHasIt, need.IsWeak);
    }

    [Fact]
    public void HostLibStdCxxDefinesItsBaseVersions()
    {
        var versions = ElfVersionNeeds.ReadDefinedVersions(File.ReadAllBytes(ElfVersionNeeds.FindHostLibStdCxx()!));
        Assert.Contains("GLIBCXX_3.4", versions);
        Assert.Contains("CXXABI_1.3", versions);
    }

    [Fact]
    public void PatchWeakensOnlyTheMissingVersionAndReplacesTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("anatomyr1-elf").FullName;
        try
        {
            string copy = Path.Combine(dir, "libLibTorchSharp.so");
            File.Copy(PackageShim(), copy);
            byte[] before = File.ReadAllBytes(copy);
            var host = new HashSet<string> { "GLIBCXX_3.4", "GLIBCXX_3.4.30" };
            var outcome = ElfVersionNeeds.WeakenUnsupported(copy, host, new HashSet<string> { Version }, new HashSet<string> { Symbol });

            Assert.True(outcome.Changed, string.Join("\n", outcome.Messages));
            byte[] after = File.ReadAllBytes(copy);
            var needs = ElfVersionNeeds.ReadNeeds(after);
            Assert.True(needs.Single(n => n.Version == Version).IsWeak);
            Assert.All(needs.Where(n => n.Version != Version), n => Assert.Equal(
                ElfVersionNeeds.ReadNeeds(before).Single(b => b.Version == n.Version && b.Library == n.Library).Flags, n.Flags));

            // Exactly two bytes may differ: the flags field of that one entry.
            int differing = before.Zip(after).Count(p => p.First != p.Second);
            Assert.Equal(1, differing);

            // Idempotent: a second run changes nothing.
            Assert.False(ElfVersionNeeds.WeakenUnsupported(copy, host, new HashSet<string> { Version }, new HashSet<string> { Symbol }).Changed);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PatchLeavesTheFileAloneWhenTheHostHasTheVersion()
    {
        string dir = Directory.CreateTempSubdirectory("anatomyr1-elf").FullName;
        try
        {
            string copy = Path.Combine(dir, "libLibTorchSharp.so");
            File.Copy(PackageShim(), copy);
            var outcome = ElfVersionNeeds.WeakenUnsupported(copy, new HashSet<string> { Version }, new HashSet<string> { Version }, new HashSet<string> { Symbol });
            Assert.False(outcome.Changed);
            Assert.Contains(outcome.Messages, m => m.Contains("provides", StringComparison.Ordinal));
            Assert.Equal(File.ReadAllBytes(PackageShim()), File.ReadAllBytes(copy));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PatchRefusesWhenOtherSymbolsUseTheVersion()
    {
        string dir = Directory.CreateTempSubdirectory("anatomyr1-elf").FullName;
        try
        {
            string copy = Path.Combine(dir, "libLibTorchSharp.so");
            File.Copy(PackageShim(), copy);
            var outcome = ElfVersionNeeds.WeakenUnsupported(copy, new HashSet<string>(), new HashSet<string> { Version }, new HashSet<string> { "some_other_symbol" });
            Assert.False(outcome.Changed);
            Assert.Contains(outcome.Messages, m => m.Contains("cannot be weakened", StringComparison.Ordinal) && m.Contains(Symbol, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
