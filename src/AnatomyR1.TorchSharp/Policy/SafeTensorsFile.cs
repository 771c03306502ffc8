using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// A safetensors file opened for reading one tensor at a time: the header is read and validated when the file is
/// opened, and each <see cref="Read"/> reads only that tensor's bytes (positional reads, no memory map, never the
/// whole file) straight into a tensor. The file stays open until <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// <para>
/// Validation follows the format's rules, and every violation is a <see cref="SafeTensorsFormatException"/> naming
/// the file and, where one is at fault, the tensor: the 8-byte little-endian header length is at least 2, at most
/// <see cref="MaxHeaderLength"/> and within the file; the header is strict UTF-8 (no invalid sequences, no byte-order
/// mark, no lone surrogate escapes) holding one JSON object without duplicate names; <c>__metadata__</c>, when
/// present, maps strings to strings; every other entry has exactly <c>dtype</c>, <c>shape</c> and
/// <c>data_offsets</c>; the dtype is one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8 and BOOL;
/// shape entries and offsets are non-negative integers; the element count times the dtype's size (computed with
/// overflow checks) equals the byte range's length; and the byte ranges, sorted by offset, start at 0, leave no
/// gaps, do not overlap and end exactly where the file ends. One rule goes beyond the format's reference
/// implementation, because libtorch could not hold such a tensor: the product of a shape's sizes, zeros counted as 1,
/// must fit in 64 bits (an empty tensor like [0, 2^62, 4] is refused).
/// </para>
/// <para>The data is little-endian; on a big-endian machine <see cref="Open"/> throws <see cref="PlatformNotSupportedException"/>.</para>
/// </remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The largest header accepted, in bytes (100 MB, as the format's reference implementation allows).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const int ChunkBytes = 1 << 30;

    private readonly SafeFileHandle _handle;
    private readonly SafeTensorsHeader _header;
    private bool _disposed;

    private SafeTensorsFile(string path, SafeFileHandle handle, SafeTensorsHeader header, long length)
    {
        Path = path;
        _handle = handle;
        _header = header;
        Length = length;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes when it was opened.</summary>
    public long Length { get; }

    /// <summary>The tensors' names, in ordinal order.</summary>
    public IReadOnlyList<string> Names => _header.Names;

    /// <summary>The header's <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    /// <summary>Opens a file and validates its header (the tensor data is not read).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The open file (the caller disposes it).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SafeTensorsFormatException">The header breaks the format's rules.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Reading safetensors files needs a little-endian machine.");
        }

        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long length = RandomAccess.GetLength(handle);
            Span<byte> prefix = stackalloc byte[8];
            int got = length >= 8 ? ReadAtMost(handle, prefix, 0) : 0;
            long headerLength = SafeTensorsHeader.HeaderLength(prefix[..got], length, path);
            byte[] headerBytes = new byte[headerLength];
            if (ReadAtMost(handle, headerBytes, 8) != headerLength)
            {
                throw new SafeTensorsFormatException(path, null, "the file ends inside the header");
            }

            var header = SafeTensorsHeader.Parse(headerBytes, length, path);
            return new SafeTensorsFile(path, handle, header, length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file has a tensor of this name.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>True when present.</returns>
    public bool Contains(string name) => _header.Tensors.ContainsKey(name);

    /// <summary>Looks up a tensor's dtype, shape and byte range.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="info">Its description, when present.</param>
    /// <returns>True when present.</returns>
    public bool TryGetInfo(string name, [MaybeNullWhen(false)] out SafeTensorInfo info) => _header.Tensors.TryGetValue(name, out info);

    /// <summary>A tensor's dtype, shape and byte range.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>Its description.</returns>
    /// <exception cref="KeyNotFoundException">The file has no such tensor; the message names it and the file.</exception>
    public SafeTensorInfo Info(string name) =>
        _header.Tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{Path}: no tensor '{name}' (the file has {_header.Tensors.Count}).");

    /// <summary>
    /// Reads one tensor into a new tensor of the requested dtype on a device. Values are converted as libtorch's
    /// dtype conversion does (BF16 and F16 to F32 or F64 are exact: BF16 is the upper half of an F32); F8 values are
    /// decoded to F32 first; BOOL bytes read as false for 0 and true otherwise.
    /// </summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="dtype">The dtype of the result.</param>
    /// <param name="device">The device of the result (default CPU).</param>
    /// <returns>The tensor, shaped as the header says (the caller disposes it).</returns>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="SafeTensorsFormatException">The file ended before the tensor's data (it changed after opening).</exception>
    public Tensor Read(string name, ScalarType dtype, Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        using var scope = NewDisposeScope();
        var flat = ReadFlat(info);
        var converted = flat.to(dtype, device ?? CPU);
        return converted.reshape(info.ShapeArray).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Reads one tensor into an existing tensor of the same shape, converting to its dtype and device. A contiguous
    /// CPU target of the file's dtype is filled in place with no intermediate copy; any other target costs one
    /// temporary CPU tensor in the file's dtype. The caller disables autograd.
    /// </summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="target">The destination.</param>
    internal void ReadInto(string name, Tensor target)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        if (!info.ShapeArray.SequenceEqual(target.shape))
        {
            throw new ArgumentException($"{Path}: tensor '{name}' has shape [{string.Join(", ", info.ShapeArray)}], the destination [{string.Join(", ", target.shape)}].", nameof(target));
        }

        using var scope = NewDisposeScope();
        if (target.device_type == DeviceType.CPU && target.is_contiguous() && SafeTensorDTypes.IsDirect(info.DType) && target.dtype == info.NativeType)
        {
            FillFromFile(target.detach().reshape(-1), info);
            return;
        }

        // copy_ converts dtype and device itself, so no converted copy is made on the way.
        var flat = ReadFlat(info);
        target.copy_(flat.reshape(info.ShapeArray));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _handle.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Names.Count} tensors)";

    private Tensor ReadFlat(SafeTensorInfo info)
    {
        switch (info.DType)
        {
            case "BOOL":
            {
                using var bytes = empty(info.ElementCount, ScalarType.Byte);
                FillFromFile(bytes, info);
                return bytes.ne(0);
            }

            case "F8_E4M3":
            case "F8_E5M2":
                return DecodeF8(info);
            default:
            {
                var flat = empty(info.ElementCount, info.NativeType);
                FillFromFile(flat, info);
                return flat;
            }
        }
    }

    private void FillFromFile(Tensor flat, SafeTensorInfo info)
    {
        int size = info.ElementSize;
        long perChunk = Math.Max(1, ChunkBytes / size);
        long fileOffset = _header.DataStart + info.ByteOffset;
        for (long start = 0; start < info.ElementCount; start += perChunk)
        {
            long count = Math.Min(perChunk, info.ElementCount - start);
            using var part = flat.narrow(0, start, count);
            ReadExactly(part.bytes, fileOffset + (start * size), info.Name);
        }
    }

    private Tensor DecodeF8(SafeTensorInfo info)
    {
        var table = info.DType == "F8_E4M3" ? SafeTensorDTypes.E4M3Table : SafeTensorDTypes.E5M2Table;
        var result = empty(info.ElementCount, ScalarType.Float32);
        const int PerChunk = 1 << 20;
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(PerChunk, Math.Max(1, info.ElementCount)));
        try
        {
            for (long start = 0; start < info.ElementCount; start += PerChunk)
            {
                int count = (int)Math.Min(PerChunk, info.ElementCount - start);
                ReadExactly(buffer.AsSpan(0, count), _header.DataStart + info.ByteOffset + start, info.Name);
                using var part = result.narrow(0, start, count);
                var floats = MemoryMarshal.Cast<byte, float>(part.bytes);
                for (int i = 0; i < count; i++)
                {
                    floats[i] = table[buffer[i]];
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return result;
    }

    private void ReadExactly(Span<byte> destination, long fileOffset, string tensor)
    {
        if (ReadAtMost(_handle, destination, fileOffset) != destination.Length)
        {
            throw new SafeTensorsFormatException(Path, tensor, "the file ends before the tensor's data does (it changed after it was opened)");
        }
    }

    private static int ReadAtMost(SafeFileHandle handle, Span<byte> destination, long fileOffset)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[total..], fileOffset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}

/// <summary>One tensor's entry in a safetensors header: dtype, shape and byte range.</summary>
public sealed class SafeTensorInfo
{
    internal SafeTensorInfo(string name, string dtype, long[] shape, long elementCount, long byteOffset, long byteLength)
    {
        Name = name;
        DType = dtype;
        ShapeArray = shape;
        ElementCount = elementCount;
        ByteOffset = byteOffset;
        ByteLength = byteLength;
    }

    /// <summary>The tensor's name.</summary>
    public string Name { get; }

    /// <summary>The dtype as the file spells it (F32, BF16, F16, F64, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL).</summary>
    public string DType { get; }

    /// <summary>The shape.</summary>
    public IReadOnlyList<long> Shape => ShapeArray;

    /// <summary>The number of elements (the product of the shape).</summary>
    public long ElementCount { get; }

    /// <summary>Where the tensor's bytes start, relative to the start of the data section.</summary>
    public long ByteOffset { get; }

    /// <summary>How many bytes the tensor has.</summary>
    public long ByteLength { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize => SafeTensorDTypes.Size(DType);

    /// <summary>The libtorch dtype the values are held in without conversion (F32 for the F8 kinds, which libtorch's C# binding lacks).</summary>
    public ScalarType NativeType => SafeTensorDTypes.Native(DType);

    internal long[] ShapeArray { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DType}[{string.Join(", ", ShapeArray)}]";
}

/// <summary>The dtypes this reader knows: sizes, libtorch types and F8 decoding tables.</summary>
internal static class SafeTensorDTypes
{
    private static readonly Dictionary<string, (int Size, ScalarType Native)> Known = new(StringComparer.Ordinal)
    {
        ["F64"] = (8, ScalarType.Float64),
        ["F32"] = (4, ScalarType.Float32),
        ["F16"] = (2, ScalarType.Float16),
        ["BF16"] = (2, ScalarType.BFloat16),
        ["F8_E4M3"] = (1, ScalarType.Float32),
        ["F8_E5M2"] = (1, ScalarType.Float32),
        ["I64"] = (8, ScalarType.Int64),
        ["I32"] = (4, ScalarType.Int32),
        ["I16"] = (2, ScalarType.Int16),
        ["I8"] = (1, ScalarType.Int8),
        ["U8"] = (1, ScalarType.Byte),
        ["BOOL"] = (1, ScalarType.Bool),
    };

    /// <summary>F8 E4M3 (finite-only, as in PyTorch's float8_e4m3fn) byte → value.</summary>
    public static readonly float[] E4M3Table = BuildF8(exponentBits: 4, mantissaBits: 3, bias: 7, ieeeSpecials: false);

    /// <summary>F8 E5M2 (IEEE-style infinities and NaNs) byte → value.</summary>
    public static readonly float[] E5M2Table = BuildF8(exponentBits: 5, mantissaBits: 2, bias: 15, ieeeSpecials: true);

    public static IEnumerable<string> Names => Known.Keys;

    public static bool IsKnown(string dtype) => Known.ContainsKey(dtype);

    public static int Size(string dtype) => Known[dtype].Size;

    public static ScalarType Native(string dtype) => Known[dtype].Native;

    /// <summary>Whether the file's bytes are the libtorch tensor's bytes (no decoding).</summary>
    public static bool IsDirect(string dtype) => dtype is not ("BOOL" or "F8_E4M3" or "F8_E5M2");

    private static float[] BuildF8(int exponentBits, int mantissaBits, int bias, bool ieeeSpecials)
    {
        var table = new float[256];
        int maxExponent = (1 << exponentBits) - 1;
        int maxMantissa = (1 << mantissaBits) - 1;
        for (int b = 0; b < 256; b++)
        {
            int sign = b >> 7;
            int exponent = (b >> mantissaBits) & maxExponent;
            int mantissa = b & maxMantissa;
            double value;
            if (ieeeSpecials && exponent == maxExponent)
            {
                value = mantissa == 0 ? double.PositiveInfinity : double.NaN;
            }
            else if (!ieeeSpecials && exponent == maxExponent && mantissa == maxMantissa)
            {
                value = double.NaN;
            }
            else if (exponent == 0)
            {
                value = mantissa / (double)(1 << mantissaBits) * Math.Pow(2, 1 - bias);
            }
            else
            {
                value = (1 + (mantissa / (double)(1 << mantissaBits))) * Math.Pow(2, exponent - bias);
            }

            table[b] = (float)(sign == 1 ? -value : value);
        }

        return table;
    }
}

/// <summary>A parsed, validated safetensors header.</summary>
internal sealed class SafeTensorsHeader
{
    private const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata, long dataStart)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        Names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Where the data section starts in the file (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Validates the 8-byte header length against the file's length.</summary>
    /// <param name="prefix">The file's first bytes (fewer than 8 when the file is that short).</param>
    /// <param name="fileLength">The file's length.</param>
    /// <param name="source">The file, for errors.</param>
    /// <returns>The header length.</returns>
    public static long HeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source)
    {
        if (fileLength < 8 || prefix.Length < 8)
        {
            throw new SafeTensorsFormatException(source, null, $"the file has {fileLength} byte(s), fewer than the 8-byte header length");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n < 2)
        {
            throw new SafeTensorsFormatException(source, null, $"the header length is {n}; a header holds at least a JSON object ('{{}}', 2 bytes)");
        }

        if (n > MaxHeader)
        {
            throw new SafeTensorsFormatException(source, null, $"the header length {n} exceeds the limit of {MaxHeader:N0} bytes");
        }

        if ((long)n > fileLength - 8)
        {
            throw new SafeTensorsFormatException(source, null, $"the header length {n} runs past the end of the file ({fileLength} bytes)");
        }

        return (long)n;
    }

    /// <summary>Parses and validates a header.</summary>
    /// <param name="json">The header bytes (after the 8-byte length).</param>
    /// <param name="fileLength">The whole file's length.</param>
    /// <param name="source">The file, for errors.</param>
    /// <returns>The header.</returns>
    public static SafeTensorsHeader Parse(ReadOnlyMemory<byte> json, long fileLength, string source)
    {
        var span = json.Span;
        if (!Utf8.IsValid(span))
        {
            throw new SafeTensorsFormatException(source, null, "the header is not valid UTF-8");
        }

        if (span.Length >= 3 && span[0] == 0xEF && span[1] == 0xBB && span[2] == 0xBF)
        {
            throw new SafeTensorsFormatException(source, null, "the header starts with a byte-order mark");
        }

        long dataStart = 8 + json.Length;
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new SafeTensorsFormatException(source, null, $"the header is not valid JSON ({ex.Message})", ex);
        }

        using (doc)
        {
            try
            {
                ReadEntries(doc.RootElement, source, tensors, metadata);
            }
            catch (InvalidOperationException ex)
            {
                throw new SafeTensorsFormatException(source, null, $"the header holds a string escape that is not valid Unicode ({ex.Message})", ex);
            }
        }

        // Byte ranges, sorted by offset, must tile the data section exactly.
        long expected = 0;
        foreach (var info in tensors.Values.OrderBy(t => t.ByteOffset).ThenBy(t => t.ByteLength).ThenBy(t => t.Name, StringComparer.Ordinal))
        {
            if (info.ByteOffset != expected)
            {
                string problem = info.ByteOffset < expected
                    ? $"its byte range [{info.ByteOffset}, {info.ByteOffset + info.ByteLength}) overlaps the previous tensor's, which ends at {expected}"
                    : $"its byte range starts at {info.ByteOffset}, leaving a gap after byte {expected}";
                throw new SafeTensorsFormatException(source, info.Name, problem);
            }

            expected += info.ByteLength;
        }

        long dataLength = fileLength - dataStart;
        if (expected != dataLength)
        {
            throw new SafeTensorsFormatException(
                source,
                null,
                expected < dataLength
                    ? $"the tensors' data ends at byte {expected} of the data section but the file has {dataLength} data bytes (trailing bytes)"
                    : $"the tensors' data needs {expected} bytes but the file has {dataLength} after the header (truncated)");
        }

        return new SafeTensorsHeader(tensors, metadata, dataStart);
    }

    private static ulong MaxHeader => SafeTensorsFile.MaxHeaderLength;

    private static void ReadEntries(JsonElement root, string source, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(source, null, $"the header is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
        }

        bool sawMetadata = false;
        foreach (var entry in root.EnumerateObject())
        {
            string name = entry.Name;
            CheckString(name, source, null, "a tensor name");
            if (name == MetadataKey)
            {
                if (sawMetadata)
                {
                    throw new SafeTensorsFormatException(source, null, $"'{MetadataKey}' appears twice");
                }

                sawMetadata = true;
                ReadMetadata(entry.Value, source, metadata);
                continue;
            }

            if (tensors.ContainsKey(name))
            {
                throw new SafeTensorsFormatException(source, name, "the name appears twice in the header");
            }

            tensors[name] = ReadTensor(name, entry.Value, source);
        }
    }

    private static void ReadMetadata(JsonElement value, string source, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(source, null, $"'{MetadataKey}' is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not an object of strings");
        }

        foreach (var item in value.EnumerateObject())
        {
            CheckString(item.Name, source, null, "a metadata key");
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafeTensorsFormatException(source, null, $"metadata '{item.Name}' is a JSON {item.Value.ValueKind.ToString().ToLowerInvariant()}, not a string");
            }

            string text = item.Value.GetString()!;
            CheckString(text, source, null, $"metadata '{item.Name}'");
            if (!metadata.TryAdd(item.Name, text))
            {
                throw new SafeTensorsFormatException(source, null, $"metadata key '{item.Name}' appears twice");
            }
        }
    }

    private static SafeTensorInfo ReadTensor(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(source, name, $"the entry is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not an object with dtype, shape and data_offsets");
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype":
                    dtypeElement = dtypeElement is null ? field.Value : throw Twice(source, name, field.Name);
                    break;
                case "shape":
                    shapeElement = shapeElement is null ? field.Value : throw Twice(source, name, field.Name);
                    break;
                case "data_offsets":
                    offsetsElement = offsetsElement is null ? field.Value : throw Twice(source, name, field.Name);
                    break;
                default:
                    throw new SafeTensorsFormatException(source, name, $"unexpected field '{field.Name}' (an entry has exactly dtype, shape and data_offsets)");
            }
        }

        if (dtypeElement is not { } dtypeValue || shapeElement is not { } shapeValue || offsetsElement is not { } offsetsValue)
        {
            string missing = string.Join(", ", new[] { ("dtype", dtypeElement), ("shape", shapeElement), ("data_offsets", offsetsElement) }.Where(p => p.Item2 is null).Select(p => p.Item1));
            throw new SafeTensorsFormatException(source, name, $"the entry lacks {missing}");
        }

        if (dtypeValue.ValueKind != JsonValueKind.String)
        {
            throw new SafeTensorsFormatException(source, name, "dtype is not a string");
        }

        string dtype = dtypeValue.GetString()!;
        if (!SafeTensorDTypes.IsKnown(dtype))
        {
            throw new SafeTensorsFormatException(source, name, $"unknown dtype '{Printable(dtype)}' (known: {string.Join(", ", SafeTensorDTypes.Names)})");
        }

        if (shapeValue.ValueKind != JsonValueKind.Array)
        {
            throw new SafeTensorsFormatException(source, name, "shape is not an array");
        }

        var shape = new long[shapeValue.GetArrayLength()];
        int d = 0;
        foreach (var dim in shapeValue.EnumerateArray())
        {
            shape[d++] = NonNegative(dim, source, name, "shape");
        }

        if (offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
        {
            throw new SafeTensorsFormatException(source, name, "data_offsets is not an array of two integers");
        }

        long begin = NonNegative(offsetsValue[0], source, name, "data_offsets");
        long end = NonNegative(offsetsValue[1], source, name, "data_offsets");
        if (end < begin)
        {
            throw new SafeTensorsFormatException(source, name, $"data_offsets [{begin}, {end}] end before they begin");
        }

        ulong count = 1, bytes;
        try
        {
            foreach (long dim in shape)
            {
                count = checked(count * (ulong)dim);
            }

            bytes = checked(count * (ulong)SafeTensorDTypes.Size(dtype));
        }
        catch (OverflowException)
        {
            throw new SafeTensorsFormatException(source, name, $"the size of shape [{string.Join(", ", shape)}] overflows");
        }

        // libtorch lays a tensor out with 64-bit strides (the products of the sizes, zeros counted as 1): an empty
        // tensor whose other sizes overflow them cannot exist, although its byte count (0) is fine.
        long strides = 1;
        try
        {
            foreach (long dim in shape)
            {
                strides = checked(strides * Math.Max(dim, 1));
            }
        }
        catch (OverflowException)
        {
            throw new SafeTensorsFormatException(source, name, $"shape [{string.Join(", ", shape)}] is too large for a tensor (its non-zero sizes multiply past 64 bits)");
        }

        if (bytes != (ulong)(end - begin))
        {
            throw new SafeTensorsFormatException(source, name, $"shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        }

        return new SafeTensorInfo(name, dtype, shape, (long)count, begin, end - begin);
    }

    private static long NonNegative(JsonElement element, string source, string name, string field)
    {
        if (element.ValueKind != JsonValueKind.Number)
        {
            throw new SafeTensorsFormatException(source, name, $"{field} holds a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not a non-negative integer");
        }

        string raw = element.GetRawText();
        if (raw.Any(c => c is < '0' or > '9'))
        {
            throw new SafeTensorsFormatException(source, name, $"{field} holds {raw}, not a non-negative integer");
        }

        if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            throw new SafeTensorsFormatException(source, name, $"{field} holds {raw}, larger than {long.MaxValue}");
        }

        return value;
    }

    private static SafeTensorsFormatException Twice(string source, string name, string field) =>
        new(source, name, $"field '{field}' appears twice");

    private static void CheckString(string text, string source, string? tensor, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new SafeTensorsFormatException(source, tensor, $"{what} holds a lone UTF-16 surrogate escape, which is not valid Unicode");
            }
        }
    }

    private static string Printable(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
