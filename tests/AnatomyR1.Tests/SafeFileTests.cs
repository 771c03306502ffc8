using System.Text.Json.Nodes;
using AnatomyR1.Curriculum;
using AnatomyR1.Data;
using AnatomyR1.IO;
using AnatomyR1.Persistence;
using AnatomyR1.Testing;
using Microsoft.ML;
using Xunit;

namespace AnatomyR1.Tests;

/// <summary>
/// Image paths from data files stay inside the image root with links resolved, and only regular files within the
/// size limit are read: a link out of the root, a FIFO, /dev/zero, a directory, a socket and an oversized file are
/// refused by name, quickly and without reading them. Saved-model manifests cannot name parts outside their folder.
/// </summary>
public sealed class SafeFileTests : IDisposable
{
    private static readonly byte[] Png = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3 };

    private readonly TempDir _dir = new();

    public SafeFileTests()
    {
        Root = Directory.CreateDirectory(Path.Combine(_dir.Path, "root")).FullName;
        Outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside")).FullName;
        File.WriteAllBytes(Path.Combine(Outside, "secret.png"), Png);
    }

    private string Root { get; }

    private string Outside { get; }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ALinkInsideTheRootThatPointsOutsideIsRefusedNamingBoth()
    {
        string secret = Path.Combine(Outside, "secret.png");
        string link = Path.Combine(Root, "scan.png");
        File.CreateSymbolicLink(link, secret);
        Directory.CreateSymbolicLink(Path.Combine(Root, "videos"), Outside);

        var direct = Assert.Throws<FileRefusedException>(() => SafeFile.ReadAllBytes(link, new SafeFileOptions { Root = Root, RootName = "the image root" }));
        Assert.Contains($"'{link}' is a symbolic link to '{secret}', outside the image root '{Root}'", direct.Message, StringComparison.Ordinal);
        Assert.Equal(secret, direct.ResolvedPath);

        string throughFolder = Path.Combine(Root, "videos", "secret.png");
        var viaFolder = Assert.Throws<FileRefusedException>(() => SafeFile.ResolveInside(throughFolder, Root, "the image root"));
        Assert.Contains($"'{throughFolder}' leads through a symbolic link to '{secret}', outside the image root", viaFolder.Message, StringComparison.Ordinal);

        // The loader refuses both at load time, whether or not images are checked, naming the field.
        foreach (string written in new[] { "scan.png", "/videos/secret.png" })
        {
            foreach (bool check in new[] { false, true })
            {
                var ex = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Data(written), new VqaLoaderOptions { ImageRoot = Root, CheckImages = check }));
                Assert.Equal("images", ex.Issue.Field);
                Assert.Contains($"the image path '{written}'", ex.Message, StringComparison.Ordinal);
                Assert.Contains($"'{secret}', outside the image root '{Root}'", ex.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void ALinkThatStaysInsideTheRootIsAllowed()
    {
        Directory.CreateDirectory(Path.Combine(Root, "frames"));
        File.WriteAllBytes(Path.Combine(Root, "frames", "0001.png"), Png);
        File.CreateSymbolicLink(Path.Combine(Root, "latest.png"), Path.Combine("frames", "0001.png"));   // relative target
        Directory.CreateSymbolicLink(Path.Combine(Root, "VID01"), Path.Combine(Root, "frames"));

        var options = new SafeFileOptions { Root = Root };
        Assert.Equal(Png, SafeFile.ReadAllBytes(Path.Combine(Root, "latest.png"), options));
        Assert.Equal(Png, SafeFile.ReadAllBytes(Path.Combine(Root, "VID01", "0001.png"), options));
        Assert.Equal(Path.Combine(Root, "frames", "0001.png"), SafeFile.RealPath(Path.Combine(Root, "VID01", "0001.png")));

        foreach (string written in new[] { "latest.png", "VID01/0001.png", "frames/0001.png" })
        {
            var loaded = VqaDataLoader.Load(Data(written), new VqaLoaderOptions { ImageRoot = Root, CheckImages = true });
            Assert.Equal(Path.Combine(Root, written), loaded.Samples.Single().ImagePath);
        }

        // A root reached through a link is compared with its links resolved too.
        string linkedRoot = Path.Combine(_dir.Path, "linked-root");
        Directory.CreateSymbolicLink(linkedRoot, Root);
        Assert.Single(VqaDataLoader.Load(Data("VID01/0001.png"), new VqaLoaderOptions { ImageRoot = linkedRoot, CheckImages = true }).Samples);
        Assert.Equal(Png, SafeFile.ReadAllBytes(Path.Combine(linkedRoot, "latest.png"), new SafeFileOptions { Root = linkedRoot }));

        // A loop of links is an error, not a hang.
        File.CreateSymbolicLink(Path.Combine(Root, "a.png"), Path.Combine(Root, "b.png"));
        File.CreateSymbolicLink(Path.Combine(Root, "b.png"), Path.Combine(Root, "a.png"));
        var loop = Assert.Throws<FileRefusedException>(() => SafeFile.ReadAllBytes(Path.Combine(Root, "a.png"), options));
        Assert.Contains("more than 40 symbolic links", loop.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFifoIsRefusedQuicklyWithoutBlocking()
    {
        string fifo = SpecialFiles.Fifo(Path.Combine(Root, "pipe.png"));
        File.CreateSymbolicLink(Path.Combine(Root, "to-pipe.png"), fifo);

        var (error, elapsed) = SpecialFiles.Run(() => SafeFile.ReadAllBytes(fifo, new SafeFileOptions { Root = Root }));
        var refused = Assert.IsType<FileRefusedException>(error);
        Assert.Contains($"'{fifo}' is a FIFO (named pipe), not a regular file", refused.Message, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"took {elapsed}");

        var (linked, _) = SpecialFiles.Run(() => SafeFile.ReadAllBytes(Path.Combine(Root, "to-pipe.png")));
        Assert.Contains($"is a link to '{fifo}', a FIFO (named pipe), not a regular file", Assert.IsType<FileRefusedException>(linked).Message, StringComparison.Ordinal);

        var (loaded, _) = SpecialFiles.Run(() => VqaDataLoader.Load(Data("to-pipe.png"), new VqaLoaderOptions { ImageRoot = Root, CheckImages = true }));
        var issue = Assert.IsType<VqaDataException>(loaded);
        Assert.Equal("images", issue.Issue.Field);
        Assert.Contains("a FIFO (named pipe), not a regular file", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DevZeroThroughALinkIsRefused()
    {
        string link = Path.Combine(Root, "zero.png");
        File.CreateSymbolicLink(link, "/dev/zero");

        var (error, elapsed) = SpecialFiles.Run(() => SafeFile.ReadAllBytes(link));
        var refused = Assert.IsType<FileRefusedException>(error);
        Assert.Contains($"'{link}' is a link to '/dev/zero', a character device, not a regular file", refused.Message, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"took {elapsed}");

        // Inside an image root it is refused as leaving the root; without a root, as a device when images are checked.
        var outside = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Data("zero.png"), new VqaLoaderOptions { ImageRoot = Root }));
        Assert.Contains("is a symbolic link to '/dev/zero', outside the image root", outside.Message, StringComparison.Ordinal);
        var device = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Data(link), new VqaLoaderOptions { CheckImages = true }));
        Assert.Contains("a character device, not a regular file", device.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoriesAndSocketsAreRefusedByName()
    {
        string folder = Directory.CreateDirectory(Path.Combine(Root, "folder.png")).FullName;
        Assert.Contains($"'{folder}' is a directory, not a regular file", Assert.Throws<FileRefusedException>(() => SafeFile.ReadAllBytes(folder)).Message, StringComparison.Ordinal);

        string socketPath = Path.Combine(Root, "s.png");
        using var socket = SpecialFiles.UnixSocket(socketPath);
        var (error, _) = SpecialFiles.Run(() => SafeFile.ReadAllBytes(socketPath));
        Assert.Contains($"'{socketPath}' is a socket, not a regular file", Assert.IsType<FileRefusedException>(error).Message, StringComparison.Ordinal);

        var loaded = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Data("folder.png"), new VqaLoaderOptions { ImageRoot = Root, CheckImages = true }));
        Assert.Contains("is a directory, not a regular file", loaded.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => SafeFile.ReadAllBytes(Path.Combine(Root, "missing.png")));
    }

    [Fact]
    public void AnOversizedFileIsRefusedBeforeReading()
    {
        // 8 GiB on paper: reading it would take minutes and fail; the size is compared first.
        string huge = SpecialFiles.Sparse(Path.Combine(Root, "huge.png"), 8L << 30);
        var (error, elapsed) = SpecialFiles.Run(() => SafeFile.ReadAllBytes(huge, new SafeFileOptions { MaxBytesName = "PolicyImage.MaxFileBytes" }));
        var refused = Assert.IsType<FileRefusedException>(error);
        Assert.Contains($"'{huge}' has 8,589,934,592 bytes, more than PolicyImage.MaxFileBytes = 268,435,456; it was not read", refused.Message, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"took {elapsed}");

        // The limit is a setting: the same small file passes at its size and is refused one byte below.
        string small = Path.Combine(Root, "small.png");
        File.WriteAllBytes(small, Png);
        Assert.Equal(Png, SafeFile.ReadAllBytes(small, new SafeFileOptions { MaxBytes = Png.Length }));
        Assert.Throws<FileRefusedException>(() => SafeFile.ReadAllBytes(small, new SafeFileOptions { MaxBytes = Png.Length - 1 }));

        // The loader checks image sizes with CheckImages, against VqaLoaderOptions.MaxImageBytes (256 MiB by default).
        Assert.Equal(SafeFile.DefaultMaxBytes, new VqaLoaderOptions().MaxImageBytes);
        var loaded = Assert.Throws<VqaDataException>(() => VqaDataLoader.Load(Data("huge.png"), new VqaLoaderOptions { ImageRoot = Root, CheckImages = true }));
        Assert.Contains("more than VqaLoaderOptions.MaxImageBytes = 268,435,456", loaded.Message, StringComparison.Ordinal);
        Assert.Single(VqaDataLoader.Load(Data("huge.png"), new VqaLoaderOptions { ImageRoot = Root, CheckImages = true, MaxImageBytes = long.MaxValue }).Samples);
    }

    [Fact]
    public void ASavedModelManifestCannotNameAPartOutsideItsFolder()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 4).Select(i => new VqaSample
        {
            SampleId = $"q{i}", Question = "What is it?", Options = new[] { "Liver", "Gut" }, CorrectIndex = i % 2, Answer = i % 2 == 0 ? "Liver" : "Gut",
        }));
        var model = ml.Transforms.CopyColumns("QuestionCopy", VqaColumns.Question)
            .Append(ml.AnatomyR1().AnatomicalSimilarity(new CharNGramEmbedder(minN: 3, maxN: 3, dimension: 64)))
            .Fit(data);
        string good = Path.Combine(_dir.Path, "model");
        AnatomyR1Model.Save(ml, model, data.Schema, good);
        Assert.Equal(2, AnatomyR1Model.Load(ml, good, out _).Count());

        string Copy(string name)
        {
            string folder = Path.Combine(_dir.Path, name);
            Directory.CreateDirectory(folder);
            foreach (string file in Directory.GetFiles(good, "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(folder, Path.GetRelativePath(good, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            return folder;
        }

        string Refused(string name, Action<string> damage)
        {
            string folder = Copy(name);
            damage(folder);
            var (error, _) = SpecialFiles.Run(() => AnatomyR1Model.Load(ml, folder, out _));
            return Assert.IsType<InvalidDataException>(error).Message;
        }

        void SetPart(string folder, int index, string key, string value)
        {
            string manifest = Path.Combine(folder, AnatomyR1Model.ManifestFile);
            var root = JsonNode.Parse(File.ReadAllText(manifest))!;
            root["parts"]![index]![key] = value;
            File.WriteAllText(manifest, root.ToJsonString());
        }

        string outsideZip = Path.Combine(Outside, "part.zip");
        File.Copy(Path.Combine(good, "part-00.zip"), outsideZip);
        Assert.Contains("parts[0].file '../outside/part.zip' points outside the model folder", Refused("dotdot", f => SetPart(f, 0, "file", "../outside/part.zip")), StringComparison.Ordinal);
        Assert.Contains($"parts[0].file '{outsideZip}' points outside the model folder", Refused("absolute", f => SetPart(f, 0, "file", outsideZip)), StringComparison.Ordinal);
        Assert.Contains("parts[1].folder '/etc' points outside the model folder", Refused("absolute-folder", f => SetPart(f, 1, "folder", "/etc")), StringComparison.Ordinal);
        Assert.Contains($"parts[0].file names a part that is a symbolic link to '{outsideZip}', outside the model folder", Refused("linked-file", f =>
        {
            File.Delete(Path.Combine(f, "part-00.zip"));
            File.CreateSymbolicLink(Path.Combine(f, "part-00.zip"), outsideZip);
        }), StringComparison.Ordinal);
        Assert.Contains($"parts[1].folder names a part that is a symbolic link to '{Outside}', outside the model folder", Refused("linked-folder", f =>
        {
            Directory.Delete(Path.Combine(f, "part-01"), recursive: true);
            Directory.CreateSymbolicLink(Path.Combine(f, "part-01"), Outside);
        }), StringComparison.Ordinal);
        Assert.Contains("is a symbolic link to '/dev/zero', outside the model folder", Refused("zero-manifest", f =>
        {
            File.Delete(Path.Combine(f, AnatomyR1Model.ManifestFile));
            File.CreateSymbolicLink(Path.Combine(f, AnatomyR1Model.ManifestFile), "/dev/zero");
        }), StringComparison.Ordinal);
        Assert.Contains("parts[0].file names a part that is a FIFO (named pipe), not a regular file", Refused("fifo-part", f =>
        {
            File.Delete(Path.Combine(f, "part-00.zip"));
            SpecialFiles.Fifo(Path.Combine(f, "part-00.zip"));
        }), StringComparison.Ordinal);

        // A link that stays inside the folder is fine.
        string inner = Copy("inner-link");
        File.Move(Path.Combine(inner, "part-00.zip"), Path.Combine(inner, "blob"));
        File.CreateSymbolicLink(Path.Combine(inner, "part-00.zip"), "blob");
        Assert.Equal(2, AnatomyR1Model.Load(ml, inner, out _).Count());
    }

    /// <summary>A one-record Anatomy-R1 file whose image path is <paramref name="image"/>.</summary>
    private string Data(string image)
    {
        const string Prompt = "You are an expert.\nQuestion:\nWhat anatomy is at the top-left of the frame ?\nAnatomy Options:\nA. Gallbladder\nB. Liver\nC. Gut\nD. Omentum";
        var record = new JsonObject
        {
            ["instruction"] = Prompt,
            ["sft_prompt"] = "<image>" + Prompt,
            ["solution"] = "B",
            ["answer"] = "Liver",
            ["images"] = image,
        };
        return _dir.File($"data-{Guid.NewGuid():N}.json", new JsonArray(record).ToJsonString());
    }
}
