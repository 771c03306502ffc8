using System.Buffers.Binary;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Testing;
using AnatomyR1.TorchSharp.Policy;
using Microsoft.ML;
using Xunit;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Images of any source and size reach the model through the policy's processor; bad images are named errors.</summary>
[Collection(TorchCollection.Name)]
public sealed class PolicyImageTests : IClassFixture<SmallSyntheticData>
{
    private readonly SmallSyntheticData _data;

    public PolicyImageTests(SmallSyntheticData data) => _data = data;

    [Fact]
    public void FilesBytesAndPixelsOfTheSameImagePrepareIdentically()
    {
        var processor = new TinyImageProcessor(64, 9);
        string path = _data.Train[0].ImagePath;
        var fromFile = processor.Prepare(PolicyImage.FromFile(path));
        var fromBytes = processor.Prepare(PolicyImage.FromBytes(File.ReadAllBytes(path), "scene"));
        var fromPixels = processor.Prepare(PolicyImage.FromPixels(fromFile.Values, 64, 64));
        Assert.Equal(new long[] { 3, 64, 64 }, fromFile.Shape);
        Assert.Equal(9, fromFile.TokenCount);
        Assert.Equal(fromFile.Values, fromBytes.Values);
        Assert.Same(fromFile.Values, fromPixels.Values);   // pixels at the model's size pass through untouched

        // Another size is resized to the model's side.
        var larger = processor.Prepare(PolicyImage.FromPixels(new float[3 * 100 * 80], 100, 80));
        Assert.Equal(3 * 64 * 64, larger.Values.Length);
        var wrong = Assert.Throws<ArgumentException>(() => PolicyImage.FromPixels(new float[10], 2, 2, "row 3"));
        Assert.Contains("row 3 has 10 values", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnMLNetImageColumnAnswersExactlyLikeTheImageFiles()
    {
        var ml = new Microsoft.ML.MLContext(seed: 0);
        var rows = ml.Data.LoadFromEnumerable(_data.Test.Take(4));
        var withImages = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: AnatomyR1.Data.VqaColumns.ImagePath).Fit(rows).Transform(rows);
        using var byPath = new AnatomyR1.TorchSharp.Estimators.VlmTransformer(BuiltInPolicy.Load("cpu"));
        using var byImage = new AnatomyR1.TorchSharp.Estimators.VlmTransformer(BuiltInPolicy.Load("cpu"), imageInput: AnatomyR1.TorchSharp.Estimators.VlmImageInput.FromImages("Image"));
        var expected = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<string>(byPath.Transform(rows), AnatomyR1.Data.VqaColumns.Completion).ToList();
        var actual = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<string>(byImage.Transform(withImages), AnatomyR1.Data.VqaColumns.Completion).ToList();
        Assert.Equal(expected, actual);
        var wrongType = Assert.Throws<ArgumentException>(() => byImage.Transform(rows));
        Assert.Contains("'Image' column of ML.NET images", wrongType.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedAndOversizedImagesAreRejectedBeforeUse()
    {
        var processor = new TinyImageProcessor(64, 9);
        byte[] png = File.ReadAllBytes(_data.Train[0].ImagePath);
        var truncated = Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromBytes(png.AsMemory(0, png.Length / 2), "half a scene")));
        Assert.Contains("half a scene", truncated.Message, StringComparison.Ordinal);

        // A 65-byte PNG that declares 60000 × 60000 pixels is refused from its header, without decoding.
        var bomb = Assert.Throws<InvalidDataException>(() => processor.Prepare(PolicyImage.FromBytes(PngHeader(60000, 60000), "bomb.png")));
        Assert.Contains("60000×60000", bomb.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPixels", bomb.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => processor.Prepare(PolicyImage.FromFile(Path.Combine(_data.Folder, "missing.png"))));
    }

    [Fact]
    public void FilesThatAreNotRegularOrTooLargeAreRefusedBeforeReading()
    {
        var processor = new TinyImageProcessor(64, 9);
        string folder = Directory.CreateTempSubdirectory("anatomyr1-image-files").FullName;
        try
        {
            InvalidDataException Refused(string path)
            {
                var (error, elapsed) = SpecialFiles.Run(() => processor.Prepare(PolicyImage.FromFile(path)));
                Assert.True(elapsed < TimeSpan.FromSeconds(2), $"took {elapsed}");
                return Assert.IsType<InvalidDataException>(error);
            }

            // A FIFO without a writer would block an ordinary open; it is refused from its type, at once.
            string fifo = SpecialFiles.Fifo(Path.Combine(folder, "pipe.png"));
            Assert.Contains($"image '{fifo}' is a FIFO (named pipe), not a regular file", Refused(fifo).Message, StringComparison.Ordinal);

            // /dev/zero never ends; through a link it is refused as a device, naming where the link points.
            string zero = Path.Combine(folder, "zero.png");
            File.CreateSymbolicLink(zero, "/dev/zero");
            Assert.Contains($"image '{zero}' is a link to '/dev/zero', a character device, not a regular file", Refused(zero).Message, StringComparison.Ordinal);

            string directory = Directory.CreateDirectory(Path.Combine(folder, "frames.png")).FullName;
            Assert.Contains($"image '{directory}' is a directory, not a regular file", Refused(directory).Message, StringComparison.Ordinal);

            // The size is compared with PolicyImage.MaxFileBytes (256 MiB by default) before reading: an 8 GiB sparse file is refused at once.
            Assert.Equal(256L << 20, PolicyImage.MaxFileBytes);
            string huge = SpecialFiles.Sparse(Path.Combine(folder, "huge.png"), 8L << 30);
            Assert.Contains("has 8,589,934,592 bytes, more than PolicyImage.MaxFileBytes = 268,435,456; it was not read", Refused(huge).Message, StringComparison.Ordinal);

            string scene = Path.Combine(folder, "scene.png");
            File.Copy(_data.Train[0].ImagePath, scene);
            long size = new FileInfo(scene).Length;
            long saved = PolicyImage.MaxFileBytes;
            try
            {
                PolicyImage.MaxFileBytes = size - 1;
                Assert.Contains($"has {size:N0} bytes, more than PolicyImage.MaxFileBytes = {size - 1:N0}", Refused(scene).Message, StringComparison.Ordinal);
                PolicyImage.MaxFileBytes = size;
                Assert.Equal(3 * 64 * 64, processor.Prepare(PolicyImage.FromFile(scene)).Values.Length);
            }
            finally
            {
                PolicyImage.MaxFileBytes = saved;
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 2;   // RGB
        var bytes = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
        Chunk(bytes, "IHDR", ihdr);
        Chunk(bytes, "IDAT", new byte[] { 0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 });
        Chunk(bytes, "IEND", Array.Empty<byte>());
        return bytes.ToArray();
    }

    private static void Chunk(List<byte> bytes, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        bytes.AddRange(length);
        var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        bytes.AddRange(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        bytes.AddRange(crc);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
