using System.Text.Json;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Writes a safetensors file tensor by tensor, so that saving a model never holds a second copy of its weights in
/// managed memory (large tensors are written in chunks of at most 64 MB). Float32, BFloat16 and Float16 tensors are
/// written in their own dtype; names are sorted and byte ranges are contiguous from 0, as the format requires.
/// </summary>
public static class SafeTensorsWriter
{
    private const long ChunkBytes = 64L << 20;

    /// <summary>Writes the tensors to <paramref name="path"/> (the caller publishes the file, e.g. through a staging folder).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="tensors">Name → tensor, on any device.</param>
    /// <param name="metadata">String metadata stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentException">A tensor has an unsupported dtype.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, tensor) in ordered)
        {
            string dtype = tensor.dtype switch
            {
                ScalarType.Float32 => "F32",
                ScalarType.BFloat16 => "BF16",
                ScalarType.Float16 => "F16",
                _ => throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}; only float32, bfloat16 and float16 are written.", nameof(tensors)),
            };
            long bytes = tensor.numel() * tensor.ElementSize;
            header[name] = new { dtype, shape = tensor.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        header["__metadata__"] = metadata ?? new Dictionary<string, string> { ["format"] = "pt" };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(BitConverter.GetBytes((ulong)padded));
        stream.Write(json);
        for (int i = json.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var (_, tensor) in ordered)
        {
            using var scope = NewDisposeScope();
            var flat = tensor.detach().reshape(-1);
            long count = flat.shape[0];
            long perChunk = Math.Max(1, ChunkBytes / tensor.ElementSize);
            for (long start = 0; start < count; start += perChunk)
            {
                using var chunkScope = NewDisposeScope();
                var chunk = flat.narrow(0, start, Math.Min(perChunk, count - start)).cpu().contiguous();
                stream.Write(chunk.bytes);
            }
        }

        stream.Flush(flushToDisk: true);
    }
}
