using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Policy;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header of name → dtype,
/// shape and byte range, then the raw little-endian data), float32 only, with strict loading: a missing,
/// unexpected or mis-shaped tensor is an error that names it. No pickle anywhere.
/// </summary>
public static class SafeTensors
{
    /// <summary>Serialises named float32 tensors.</summary>
    /// <param name="tensors">The tensors by name.</param>
    /// <param name="metadata">String metadata stored under <c>__metadata__</c>.</param>
    /// <returns>The file content.</returns>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (tensor.dtype != ScalarType.Float32)
            {
                throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}; only float32 is written.");
            }

            using var cpu = tensor.detach().cpu().contiguous();
            byte[] bytes = MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()).ToArray();
            header[name] = new { dtype = "F32", shape = tensor.shape, data_offsets = new[] { offset, offset + bytes.Length } };
            blobs.Add(bytes);
            offset += bytes.Length;
        }

        header["__metadata__"] = metadata ?? new Dictionary<string, string> { ["format"] = "pt" };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = new MemoryStream();
        stream.Write(BitConverter.GetBytes((ulong)padded));
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        foreach (byte[] blob in blobs)
        {
            stream.Write(blob);
        }

        return stream.ToArray();
    }

    /// <summary>Reads every tensor of a safetensors file (float32 only).</summary>
    /// <param name="content">The file content.</param>
    /// <param name="source">The file name, for errors.</param>
    /// <returns>Name → (shape, values).</returns>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the tensor.</exception>
    public static Dictionary<string, (long[] Shape, float[] Values)> Deserialize(byte[] content, string source)
    {
        if (content.Length < 8)
        {
            throw new InvalidDataException($"{source}: too short for a safetensors file.");
        }

        ulong headerLength = BitConverter.ToUInt64(content, 0);
        if (headerLength > (ulong)(content.Length - 8))
        {
            throw new InvalidDataException($"{source}: the header length {headerLength} exceeds the file.");
        }

        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(content, 8, (int)headerLength));
        long dataStart = 8 + (long)headerLength;
        var result = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                continue;
            }

            string dtype = entry.Value.GetProperty("dtype").GetString() ?? string.Empty;
            if (dtype != "F32")
            {
                throw new InvalidDataException($"{source}: tensor '{entry.Name}' has dtype {dtype}; only F32 is supported.");
            }

            long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] range = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (range.Length != 2 || range[1] - range[0] != count * 4 || dataStart + range[1] > content.Length || range[0] < 0)
            {
                throw new InvalidDataException($"{source}: tensor '{entry.Name}' has a byte range that does not match its shape [{string.Join(", ", shape)}] or the file.");
            }

            var values = MemoryMarshal.Cast<byte, float>(content.AsSpan((int)(dataStart + range[0]), (int)(range[1] - range[0]))).ToArray();
            result[entry.Name] = (shape, values);
        }

        return result;
    }

    /// <summary>Copies tensors into a module's parameters and persistent buffers, strictly.</summary>
    /// <param name="module">The module.</param>
    /// <param name="tensors">The tensors read by <see cref="Deserialize"/>.</param>
    /// <param name="source">The file name, for errors.</param>
    /// <exception cref="InvalidDataException">A tensor is missing, unexpected or mis-shaped; the message names it.</exception>
    public static void LoadInto(nn.Module module, Dictionary<string, (long[] Shape, float[] Values)> tensors, string source)
    {
        var state = module.state_dict();
        var missing = state.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{source}: missing tensor(s) {string.Join(", ", missing.Select(m => "'" + m + "'"))}.");
        }

        var unexpected = tensors.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
        {
            throw new InvalidDataException($"{source}: unexpected tensor(s) {string.Join(", ", unexpected.Select(m => "'" + m + "'"))} that the model does not have.");
        }

        foreach (var (name, target) in state)
        {
            var (shape, values) = tensors[name];
            if (!shape.SequenceEqual(target.shape))
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(", ", shape)}], the model expects [{string.Join(", ", target.shape)}].");
            }
        }

        using (no_grad())
        {
            foreach (var (name, target) in state)
            {
                var (shape, values) = tensors[name];
                using var source32 = tensor(values, shape).to(target.device);
                target.copy_(source32);
            }
        }
    }
}
