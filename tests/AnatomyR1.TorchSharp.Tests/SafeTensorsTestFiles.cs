using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Builds safetensors files of any dtype (and deliberately broken ones) for the loader tests.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>One tensor to write: name, dtype as the file spells it, shape and raw little-endian bytes.</summary>
    internal sealed record Entry(string Name, string DType, long[] Shape, byte[] Data);

    /// <summary>A valid file: entries in the given order, contiguous from offset 0.</summary>
    public static byte[] BuildFile(IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = entries.ToList();
        var header = new StringBuilder("{");
        long offset = 0;
        var parts = new List<string>();
        if (metadata is not null)
        {
            parts.Add("\"__metadata__\":" + JsonSerializer.Serialize(metadata));
        }

        foreach (var e in list)
        {
            parts.Add($"{JsonSerializer.Serialize(e.Name)}:{{\"dtype\":\"{e.DType}\",\"shape\":[{string.Join(",", e.Shape)}],\"data_offsets\":[{offset},{offset + e.Data.Length}]}}");
            offset += e.Data.Length;
        }

        header.Append(string.Join(",", parts)).Append('}');
        return Assemble(Encoding.UTF8.GetBytes(header.ToString()), list.SelectMany(e => e.Data).ToArray());
    }

    /// <summary>8-byte length, the header bytes as given, the data.</summary>
    public static byte[] Assemble(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>A header given as JSON text, with <paramref name="dataLength"/> zero bytes of data.</summary>
    public static byte[] WithHeader(string json, int dataLength) => Assemble(Encoding.UTF8.GetBytes(json), new byte[dataLength]);

    public static Entry F32(string name, long[] shape, float[] values) => new(name, "F32", shape, Bytes<float>(values));

    /// <summary>The raw bytes of a CPU tensor in its own dtype.</summary>
    public static byte[] Raw(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }

    /// <summary>An entry from a tensor, written in the given dtype (F32, F16, BF16 or F64).</summary>
    public static Entry FromTensor(string name, Tensor t, string dtype = "F32")
    {
        var type = dtype switch
        {
            "F32" => ScalarType.Float32,
            "F16" => ScalarType.Float16,
            "BF16" => ScalarType.BFloat16,
            "F64" => ScalarType.Float64,
            _ => throw new ArgumentException(dtype),
        };
        using var converted = t.detach().to(type);
        return new Entry(name, dtype, t.shape, Raw(converted));
    }

    /// <summary>Writes tensors straight to a file, one at a time (no whole-file buffer), in the given dtype.</summary>
    public static void WriteStreaming(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, string dtype = "F32")
    {
        int size = dtype switch { "F32" => 4, "BF16" or "F16" => 2, "F64" => 8, _ => throw new ArgumentException(dtype) };
        var type = dtype switch { "F32" => ScalarType.Float32, "BF16" => ScalarType.BFloat16, "F16" => ScalarType.Float16, _ => ScalarType.Float64 };
        var parts = new List<string>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            long length = t.numel() * size;
            parts.Add($"{JsonSerializer.Serialize(name)}:{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", t.shape)}],\"data_offsets\":[{offset},{offset + length}]}}");
            offset += length;
        }

        byte[] header = Encoding.UTF8.GetBytes("{" + string.Join(",", parts) + "}");
        using var stream = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (_, t) in tensors)
        {
            using var converted = t.detach().to(type).contiguous();
            stream.Write(converted.bytes);
        }
    }

    public static byte[] Bytes<T>(T[] values)
        where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A fresh temporary folder.</summary>
    public static string TempFolder(string prefix)
    {
        string folder = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }
}
