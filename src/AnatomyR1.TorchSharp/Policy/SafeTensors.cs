using System.Runtime.InteropServices;
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

    /// <summary>
    /// Reads every tensor of a safetensors file (float32 only). The header is validated by the same rules as
    /// <see cref="SafeTensorsFile"/>'s.
    /// </summary>
    /// <param name="content">The file content.</param>
    /// <param name="source">The file name, for errors.</param>
    /// <returns>Name → (shape, values).</returns>
    /// <exception cref="InvalidDataException">
    /// The file breaks the format's rules (the message names the file and tensor; the inner exception is the
    /// <see cref="SafeTensorsFormatException"/>), or a tensor is not F32.
    /// </exception>
    public static Dictionary<string, (long[] Shape, float[] Values)> Deserialize(byte[] content, string source)
    {
        ArgumentNullException.ThrowIfNull(content);
        SafeTensorsHeader header;
        try
        {
            long headerLength = SafeTensorsHeader.HeaderLength(content.AsSpan(0, Math.Min(8, content.Length)), content.Length, source);
            header = SafeTensorsHeader.Parse(content.AsMemory(8, (int)headerLength), content.Length, source);
        }
        catch (SafeTensorsFormatException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }

        var result = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (string name in header.Names)
        {
            var info = header.Tensors[name];
            if (info.DType != "F32")
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has dtype {info.DType}; only F32 is supported here (SafeTensorsFile reads and converts the others).");
            }

            var bytes = content.AsSpan((int)(header.DataStart + info.ByteOffset), (int)info.ByteLength);
            result[name] = (info.ShapeArray.ToArray(), MemoryMarshal.Cast<byte, float>(bytes).ToArray());
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
