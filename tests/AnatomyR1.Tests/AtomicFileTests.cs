using AnatomyR1.IO;
using Xunit;

namespace AnatomyR1.Tests;

public sealed class AtomicFileTests
{
    [Fact]
    public void FileIsReplacedWholeAndNoTemporaryIsLeft()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "sub", "result.json");
        AtomicFile.WriteAllText(path, "first");
        AtomicFile.WriteAllText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => throw new InvalidOperationException("disk full")));
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void FolderIsReplacedOnlyWhenComplete()
    {
        using var dir = new TempDir();
        string folder = Path.Combine(dir.Path, "model");
        AtomicFile.WriteFolder(folder, staging => File.WriteAllText(Path.Combine(staging, "weights"), "v1"));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteFolder(folder, staging =>
        {
            File.WriteAllText(Path.Combine(staging, "weights"), "half");
            throw new InvalidOperationException("interrupted");
        }));
        Assert.Equal("v1", File.ReadAllText(Path.Combine(folder, "weights")));
        Assert.Equal(new[] { "model" }, Directory.GetDirectories(dir.Path).Select(Path.GetFileName));

        Assert.Throws<IOException>(() => AtomicFile.WriteFolder(folder, _ => { }, overwrite: false));
        AtomicFile.WriteFolder(folder, staging => File.WriteAllText(Path.Combine(staging, "weights"), "v2"));
        Assert.Equal("v2", File.ReadAllText(Path.Combine(folder, "weights")));
        Assert.Equal(new[] { "model" }, Directory.GetDirectories(dir.Path).Select(Path.GetFileName));
    }
}
