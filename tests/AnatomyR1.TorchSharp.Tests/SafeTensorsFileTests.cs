using System.Buffers.Binary;
using System.Text;
using AnatomyR1.TorchSharp.Policy;
using TorchSharp;
using Xunit;
using static AnatomyR1.TorchSharp.Tests.SafeTensorsTestFiles;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

[Collection(TorchCollection.Name)]
public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly string _folder = TempFolder("anatomyr1-st");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void EveryDtypeReadsBackExactly()
    {
        var random = new Random(3);
        float[] f32 = { 0f, -0f, 1.5f, -2.25e-3f, float.Epsilon, float.MaxValue, float.PositiveInfinity, 3.14159274f };
        double[] f64 = { 0.1, -1e300, 1e-310, 2.5, double.NegativeInfinity, 123456789.123456789 };
        ushort[] bf16 = Enumerable.Range(0, 64).Select(_ => (ushort)random.Next(0, 0x7F80)).Concat(new ushort[] { 0x8000, 0x3F80, 0xC2F7, 0x0001 }).ToArray();
        ushort[] f16 = Enumerable.Range(0, 64).Select(_ => (ushort)random.Next(0, 0x7C00)).Concat(new ushort[] { 0x8000, 0x3C00, 0xFBFF, 0x0001 }).ToArray();
        long[] i64 = { long.MinValue, -1, 0, long.MaxValue, 1L << 40 };
        int[] i32 = { int.MinValue, -7, 0, int.MaxValue };
        short[] i16 = { short.MinValue, -3, 0, short.MaxValue };
        sbyte[] i8 = { sbyte.MinValue, -1, 0, sbyte.MaxValue };
        byte[] u8 = { 0, 1, 128, 255 };
        byte[] boolean = { 0, 1, 0, 7 };
        byte[] e4m3 = { 0x38, 0x7E, 0x01, 0xB8, 0x00, 0x7F };
        byte[] e5m2 = { 0x3C, 0x7B, 0x01, 0x7C, 0xBC, 0x00 };
        string path = Write("all.safetensors", BuildFile(
            new[]
            {
                new Entry("f32", "F32", new long[] { 2, 4 }, Bytes(f32)),
                new Entry("f64", "F64", new long[] { 6 }, Bytes(f64)),
                new Entry("bf16", "BF16", new long[] { 4, 17 }, Bytes(bf16)),
                new Entry("f16", "F16", new long[] { 68 }, Bytes(f16)),
                new Entry("i64", "I64", new long[] { 5 }, Bytes(i64)),
                new Entry("i32", "I32", new long[] { 2, 2 }, Bytes(i32)),
                new Entry("i16", "I16", new long[] { 4 }, Bytes(i16)),
                new Entry("i8", "I8", new long[] { 4 }, Bytes(i8)),
                new Entry("u8", "U8", new long[] { 4 }, u8),
                new Entry("bool", "BOOL", new long[] { 4 }, boolean),
                new Entry("e4m3", "F8_E4M3", new long[] { 6 }, e4m3),
                new Entry("e5m2", "F8_E5M2", new long[] { 6 }, e5m2),
                new Entry("scalar", "F32", Array.Empty<long>(), Bytes(new[] { 42f })),
                new Entry("empty", "F32", new long[] { 0, 3 }, Array.Empty<byte>()),
            },
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" }));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(new[] { "bf16", "bool", "e4m3", "e5m2", "empty", "f16", "f32", "f64", "i16", "i32", "i64", "i8", "scalar", "u8" }, file.Names);
        Assert.Equal("ünïcode ✓", file.Metadata["note"]);
        Assert.True(file.TryGetInfo("bf16", out var info));
        Assert.Equal("BF16", info.DType);
        Assert.Equal(new long[] { 4, 17 }, info.Shape);
        Assert.Equal(68, info.ElementCount);
        Assert.False(file.TryGetInfo("nope", out _));
        Assert.Throws<KeyNotFoundException>(() => file.Read("nope", ScalarType.Float32));

        using var scope = NewDisposeScope();
        var f32Read = file.Read("f32", ScalarType.Float32);
        Assert.Equal(new long[] { 2, 4 }, f32Read.shape);
        Assert.Equal(f32.Select(BitConverter.SingleToInt32Bits), f32Read.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(f64, file.Read("f64", ScalarType.Float64).data<double>().ToArray());
        Assert.Equal(f64.Select(d => (float)d), file.Read("f64", ScalarType.Float32).data<float>().ToArray());

        // BF16 → F32 is exact: the 16 bits are the upper half of the float.
        Assert.Equal(bf16.Select(b => BitConverter.Int32BitsToSingle(b << 16)), file.Read("bf16", ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, file.Read("bf16", ScalarType.BFloat16).dtype);
        Assert.Equal(bf16.Select(b => (double)BitConverter.Int32BitsToSingle(b << 16)), file.Read("bf16", ScalarType.Float64).data<double>().ToArray());
        Assert.Equal(f16.Select(h => (float)BitConverter.UInt16BitsToHalf(h)), file.Read("f16", ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(Raw(file.Read("f16", ScalarType.Float16)), Bytes(f16));

        Assert.Equal(i64, file.Read("i64", ScalarType.Int64).data<long>().ToArray());
        Assert.Equal(i32, file.Read("i32", ScalarType.Int32).data<int>().ToArray());
        Assert.Equal(i16, file.Read("i16", ScalarType.Int16).data<short>().ToArray());
        Assert.Equal(i8, file.Read("i8", ScalarType.Int8).data<sbyte>().ToArray());
        Assert.Equal(u8, file.Read("u8", ScalarType.Byte).data<byte>().ToArray());
        Assert.Equal(i32.Select(v => (float)v), file.Read("i32", ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(new[] { false, true, false, true }, file.Read("bool", ScalarType.Bool).data<bool>().ToArray());

        // F8: 0x38 = 1, 0x7E = 448 (E4M3's largest), 0x01 = 2^-9, 0xB8 = -1, 0x7F = NaN.
        var e4 = file.Read("e4m3", ScalarType.Float32).data<float>().ToArray();
        Assert.Equal(new[] { 1f, 448f, MathF.Pow(2, -9), -1f, 0f }, e4[..5]);
        Assert.True(float.IsNaN(e4[5]));

        // 0x3C = 1, 0x7B = 57344 (E5M2's largest), 0x01 = 2^-16, 0x7C = +inf, 0xBC = -1.
        Assert.Equal(new[] { 1f, 57344f, MathF.Pow(2, -16), float.PositiveInfinity, -1f, 0f }, file.Read("e5m2", ScalarType.Float32).data<float>().ToArray());

        var scalar = file.Read("scalar", ScalarType.Float32);
        Assert.Empty(scalar.shape);
        Assert.Equal(42f, scalar.item<float>());
        Assert.Equal(new long[] { 0, 3 }, file.Read("empty", ScalarType.Float32).shape);
    }

    [Fact]
    public void SerializeOutputReadsIdenticallyThroughBothReaders()
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor> { ["a"] = randn(3, 5), ["b.c"] = randn(7), ["s"] = tensor(2.5f) };
        byte[] content = SafeTensors.Serialize(tensors);
        string path = Write("serialized.safetensors", content);
        using var file = SafeTensorsFile.Open(path);
        var old = SafeTensors.Deserialize(content, path);
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.data<float>().ToArray(), file.Read(name, ScalarType.Float32).data<float>().ToArray());
            Assert.Equal(t.data<float>().ToArray(), old[name].Values);
            Assert.Equal(t.shape, old[name].Shape);
        }

        Assert.Equal("pt", file.Metadata["format"]);
    }

    public static TheoryData<string, byte[], string?, string> BrokenFiles()
    {
        static byte[] H(string json, int data = 0) => WithHeader(json, data);
        const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        var data = new TheoryData<string, byte[], string?, string>
        {
            { "shorter than the length field", new byte[] { 2, 0, 0, 0, 0 }, null, "fewer than the 8-byte header length" },
            { "header length below 2", Assemble(Encoding.UTF8.GetBytes("{"), Array.Empty<byte>()), null, "at least a JSON object" },
            { "header length above 100 MB", Assemble(Encoding.UTF8.GetBytes("{}"), Array.Empty<byte>(), 100_000_001), null, "exceeds the limit" },
            { "header length past the file", Assemble(Encoding.UTF8.GetBytes("{}"), Array.Empty<byte>(), 3), null, "runs past the end of the file" },
            { "header length near 2^64", Assemble(Encoding.UTF8.GetBytes("{}"), Array.Empty<byte>(), ulong.MaxValue - 3), null, "exceeds the limit" },
            { "invalid UTF-8", Assemble(new byte[] { (byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, Array.Empty<byte>()), null, "not valid UTF-8" },
            { "overlong UTF-8", Assemble(new byte[] { (byte)'{', (byte)'"', 0xC0, 0xAF, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, Array.Empty<byte>()), null, "not valid UTF-8" },
            { "byte-order mark", Assemble(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' }, Array.Empty<byte>()), null, "byte-order mark" },
            { "not JSON", H("{\"a\":"), null, "not valid JSON" },
            { "trailing text after the object", H("{} x"), null, "not valid JSON" },
            { "trailing NUL padding", Assemble(new byte[] { (byte)'{', (byte)'}', 0, 0 }, Array.Empty<byte>()), null, "not valid JSON" },
            { "JSON array", H("[]"), null, "not an object" },
            { "duplicate tensor names", H("{" + A + "," + A.Replace("[0,8]", "[8,16]", StringComparison.Ordinal) + "}", 16), "a", "appears twice" },
            { "duplicate names spelled differently", H("{" + A + "," + A.Replace("\"a\"", "\"\\u0061\"", StringComparison.Ordinal).Replace("[0,8]", "[8,16]", StringComparison.Ordinal) + "}", 16), "a", "appears twice" },
            { "duplicate __metadata__", H("{\"__metadata__\":{},\"__metadata__\":{}}"), null, "'__metadata__' appears twice" },
            { "metadata not an object", H("{\"__metadata__\":[\"x\"]}"), null, "not an object of strings" },
            { "metadata value not a string", H("{\"__metadata__\":{\"k\":1}}"), null, "metadata 'k' is a JSON number" },
            { "metadata null", H("{\"__metadata__\":null}"), null, "not an object of strings" },
            { "duplicate metadata key", H("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), null, "metadata key 'k' appears twice" },
            { "entry not an object", H("{\"a\":5}"), "a", "not an object with dtype" },
            { "entry lacks data_offsets", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[0]}}"), "a", "lacks data_offsets" },
            { "entry has an extra field", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8), "a", "unexpected field 'x'" },
            { "entry repeats a field", H("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "field 'dtype' appears twice" },
            { "unknown dtype", H("{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "unknown dtype 'F31'" },
            { "lower-case dtype", H("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "unknown dtype 'f32'" },
            { "dtype not a string", H("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "dtype is not a string" },
            { "negative shape", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "a", "not a non-negative integer" },
            { "fractional shape", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8), "a", "not a non-negative integer" },
            { "exponent shape", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8), "a", "not a non-negative integer" },
            { "string shape", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8), "a", "not a non-negative integer" },
            { "shape not an array", H("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8), "a", "shape is not an array" },
            { "huge shape", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8), "a", "larger than" },
            { "shape product overflows", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}"), "a", "overflows" },
            { "byte size overflows", H("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}"), "a", "overflows" },
            { "empty tensor too large for libtorch", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,4],\"data_offsets\":[0,0]}}"), "a", "too large for a tensor" },
            { "three offsets", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", 8), "a", "not an array of two integers" },
            { "negative offset", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,-4]}}"), "a", "not a non-negative integer" },
            { "end before begin", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8), "a", "end before they begin" },
            { "shape does not match the range", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "a", "needs 12 bytes but data_offsets [0, 8] hold 8" },
            { "dtype size does not match the range", H("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "needs 4 bytes" },
            { "first range not at 0", H("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "a", "leaving a gap after byte 0" },
            { "gap between ranges", H("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16), "b", "leaving a gap after byte 8" },
            { "overlapping ranges", H("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "b", "overlaps the previous tensor's" },
            { "identical ranges", H("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "b", "overlaps the previous tensor's" },
            { "trailing bytes after the data", H("{" + A + "}", 9), null, "trailing bytes" },
            { "data shorter than the header says", H("{" + A + "}", 7), null, "truncated" },
            { "lone surrogate in a name", H("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"), null, "not valid Unicode" },
            { "lone surrogate in metadata", H("{\"__metadata__\":{\"k\":\"\\udc00\"}}"), null, "not valid Unicode" },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void EveryRuleIsEnforcedWithOneExceptionNamingFileAndTensor(string rule, byte[] content, string? tensor, string expected)
    {
        string path = Write("broken.safetensors", content);
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith(path + ":", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.FileName);
        if (tensor is not null)
        {
            Assert.Equal(tensor, ex.TensorName);
            Assert.Contains($"tensor '{tensor}'", ex.Message, StringComparison.Ordinal);
        }

        // The in-memory reader applies the same rules (its contract's InvalidDataException, the same message).
        var old = Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(content, path));
        Assert.IsType<SafeTensorsFormatException>(old.InnerException);
        Assert.Equal(ex.Message, old.Message);
        Assert.False(string.IsNullOrEmpty(rule));
    }

    [Fact]
    public void BoundaryCasesThatAreValid()
    {
        // The smallest file: "{}" and no data; a header padded with spaces; zero-length tensors sharing an offset.
        using (var empty = SafeTensorsFile.Open(Write("empty.safetensors", WithHeader("{}", 0))))
        {
            Assert.Empty(empty.Names);
            Assert.Empty(empty.Metadata);
        }

        string json = "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"y\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[1,1]}}     ";
        using var file = SafeTensorsFile.Open(Write("zero.safetensors", WithHeader(json, 1)));
        Assert.Equal(new[] { "a", "y", "z" }, file.Names);
        using var y = file.Read("y", ScalarType.Float32);
        Assert.Equal(new long[] { 2, 0 }, y.shape);

        // The largest allowed header length is accepted as a length (here it runs past the file instead).
        var atLimit = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(Write("limit.safetensors", Assemble(Encoding.UTF8.GetBytes("{}"), Array.Empty<byte>(), 100_000_000))).Dispose());
        Assert.Contains("runs past the end of the file", atLimit.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonF32TensorsAreRefusedByTheFloat32OnlyReaderButReadByTheFileReader()
    {
        byte[] content = BuildFile(new[] { new Entry("h", "BF16", new long[] { 2 }, new byte[] { 0x80, 0x3F, 0x00, 0x40 }) });
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(content, "bf16.safetensors"));
        Assert.Contains("tensor 'h' has dtype BF16", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
        using var file = SafeTensorsFile.Open(Write("bf16.safetensors", content));
        using var t = file.Read("h", ScalarType.Float32);
        Assert.Equal(new[] { 1f, 2f }, t.data<float>().ToArray());
    }

    [Fact]
    public void TheFileIsReadOneTensorAtATimeAndChangesAfterOpeningAreReported()
    {
        string path = Write("later.safetensors", BuildFile(new[] { F32("a", new long[] { 2 }, new[] { 1f, 2f }), F32("b", new long[] { 3 }, new[] { 3f, 4f, 5f }) }));
        using var file = SafeTensorsFile.Open(path);

        // Rewriting a's bytes after opening shows that Read goes to the file each time, for that tensor only.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.Position = file.Length - 20;
            stream.Write(Bytes(new[] { 9f }));
        }

        using (var a = file.Read("a", ScalarType.Float32))
        {
            Assert.Equal(new[] { 9f, 2f }, a.data<float>().ToArray());
        }

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.SetLength(file.Length - 4);
        }

        var ex = Assert.Throws<SafeTensorsFormatException>(() => file.Read("b", ScalarType.Float32));
        Assert.Equal("b", ex.TensorName);
        Assert.Contains("changed after it was opened", ex.Message, StringComparison.Ordinal);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Read("a", ScalarType.Float32));
    }

    [Fact]
    public void ReadPlacesTheTensorOnTheRequestedDeviceOutsideTheCallersDisposeScope()
    {
        string path = Write("device.safetensors", BuildFile(new[] { F32("a", new long[] { 2, 2 }, new[] { 1f, 2f, 3f, 4f }) }));
        using var file = SafeTensorsFile.Open(path);
        Tensor kept;
        using (var scope = NewDisposeScope())
        {
            kept = file.Read("a", ScalarType.Float64, CPU).MoveToOuterDisposeScope();
        }

        Assert.False(kept.IsInvalid);
        Assert.Equal(new[] { 1.0, 2.0, 3.0, 4.0 }, kept.data<double>().ToArray());
        Assert.Equal(DeviceType.CPU, kept.device_type);
        kept.Dispose();
    }

    [Fact]
    public void MissingFilesAreFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => SafeTensorsFile.Open(Path.Combine(_folder, "absent.safetensors")));
    }

    private string Write(string name, byte[] content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, content);
        return path;
    }
}
