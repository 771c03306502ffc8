using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnatomyR1.TorchSharp.Policy;
using Xunit;
using static AnatomyR1.TorchSharp.Tests.SafeTensorsTestFiles;
using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>
/// Mutates valid safetensors files thousands of times (seeded) and checks that the readers fail only with the
/// format's exception, agree with each other, reject every mutation that must be invalid, accept every one that must
/// stay valid, and read whatever they accept without any other exception.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SafeTensorsPropertyTests : IDisposable
{
    private const int Iterations = 4000;

    private static readonly string[] DTypes = { "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "F4", "f32", "", "C64" };

    private readonly string _folder = TempFolder("anatomyr1-stprop");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void MutatedFilesFailOnlyWithTheFormatExceptionAndAcceptedFilesRead()
    {
        var random = new Random(20250611);
        var bases = BaseFiles(random);
        string path = Path.Combine(_folder, "mutated.safetensors");
        int accepted = 0, rejected = 0, mustFail = 0, mustPass = 0;
        var kinds = new Dictionary<string, (int Accepted, int Rejected)>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Iterations; i++)
        {
            byte[] original = bases[random.Next(bases.Count)];
            var (kind, content, expect) = Mutate(original, random);
            File.WriteAllBytes(path, content);
            SafeTensorsFormatException? fileError = null;
            bool allF32 = false;
            try
            {
                using var file = SafeTensorsFile.Open(path);
                allF32 = file.Names.All(n => file.Info(n).DType == "F32");
                foreach (string name in file.Names)
                {
                    var info = file.Info(name);
                    using var asFloat = file.Read(name, ScalarType.Float32);
                    using var native = file.Read(name, info.NativeType);
                    Assert.Equal(info.Shape, asFloat.shape);
                    Assert.Equal(info.ElementCount, native.numel());
                }
            }
            catch (SafeTensorsFormatException ex)
            {
                fileError = ex;
            }
            catch (Exception ex)
            {
                Assert.Fail($"Case {i} ({kind}) threw {ex.GetType().Name}, not SafeTensorsFormatException: {ex}");
            }

            // The in-memory reader applies the same rules, reporting them as its contract's InvalidDataException.
            try
            {
                var tensors = SafeTensors.Deserialize(content, path);
                Assert.True(fileError is null, $"Case {i} ({kind}): Deserialize accepted what SafeTensorsFile refused: {fileError?.Message}");
                Assert.True(allF32, $"Case {i} ({kind}): Deserialize accepted a non-F32 file.");
            }
            catch (InvalidDataException ex)
            {
                if (fileError is not null)
                {
                    Assert.Equal(fileError.Message, ex.Message);
                    Assert.IsType<SafeTensorsFormatException>(ex.InnerException);
                }
                else
                {
                    Assert.False(allF32, $"Case {i} ({kind}): Deserialize refused a valid F32 file: {ex.Message}");
                    Assert.Null(ex.InnerException);
                }
            }
            catch (Exception ex)
            {
                Assert.Fail($"Case {i} ({kind}): Deserialize threw {ex.GetType().Name}: {ex}");
            }

            bool ok = fileError is null;
            if (expect == Expect.Invalid)
            {
                mustFail++;
                Assert.False(ok, $"Case {i} ({kind}) must be refused but was accepted.");
            }
            else if (expect == Expect.Valid)
            {
                mustPass++;
                Assert.True(ok, $"Case {i} ({kind}) must be accepted but: {fileError?.Message}");
            }

            var (a, r) = kinds.GetValueOrDefault(kind);
            kinds[kind] = ok ? (a + 1, r) : (a, r + 1);
            if (ok)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }
        }

        // Not vacuous: both outcomes happen often, and so do the cases with a known answer.
        Assert.True(accepted > 300 && rejected > 2000, $"accepted {accepted}, rejected {rejected}: {string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value.Accepted}/{k.Value.Rejected}"))}");
        Assert.True(mustFail > 1000 && mustPass > 200, $"must fail {mustFail}, must pass {mustPass}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    private enum Expect
    {
        Unknown,
        Valid,
        Invalid,
    }

    private static List<byte[]> BaseFiles(Random random)
    {
        byte[] Data(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }

        var mixed = BuildFile(
            new[]
            {
                new Entry("model.embed_tokens.weight", "BF16", new long[] { 4, 3 }, Data(24)),
                new Entry("model.norm.weight", "F32", new long[] { 3 }, Data(12)),
                new Entry("lm_head.weight", "F16", new long[] { 2, 3 }, Data(12)),
                new Entry("visual.ids", "I64", new long[] { 2 }, Data(16)),
                new Entry("mask", "BOOL", new long[] { 5 }, Data(5)),
                new Entry("q", "F8_E4M3", new long[] { 2, 2 }, Data(4)),
                new Entry("r", "F8_E5M2", new long[] { 3 }, Data(3)),
                new Entry("u", "U8", new long[] { 1, 1, 2 }, Data(2)),
                new Entry("d", "F64", new long[] { 1 }, Data(8)),
                new Entry("i", "I32", new long[] { 2 }, Data(8)),
                new Entry("s", "I16", new long[] { 3 }, Data(6)),
                new Entry("c", "I8", new long[] { 2 }, Data(2)),
            },
            new Dictionary<string, string> { ["format"] = "pt" });
        var f32 = BuildFile(
            new[]
            {
                new Entry("a", "F32", new long[] { 2, 2 }, Data(16)),
                new Entry("b", "F32", new long[] { 3 }, Data(12)),
                new Entry("c", "F32", Array.Empty<long>(), Data(4)),
            });
        var zeros = BuildFile(
            new[]
            {
                new Entry("z0", "F32", new long[] { 0 }, Array.Empty<byte>()),
                new Entry("one", "U8", new long[] { 1 }, Data(1)),
                new Entry("z1", "BF16", new long[] { 3, 0, 2 }, Array.Empty<byte>()),
                new Entry("two", "I16", new long[] { 1 }, Data(2)),
            });
        using var scope = NewDisposeScope();
        var serialized = SafeTensors.Serialize(new Dictionary<string, global::TorchSharp.torch.Tensor> { ["w"] = randn(2, 3), ["x.y"] = randn(4) });
        return new List<byte[]> { mixed, f32, zeros, serialized, WithHeader("{}", 0) };
    }

    private static (string Kind, byte[] Content, Expect Expect) Mutate(byte[] original, Random random)
    {
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(original);
        int dataStart = 8 + (int)headerLength;
        switch (random.Next(12))
        {
            case 0:
            {
                var copy = (byte[])original.Clone();
                for (int k = random.Next(1, 5); k > 0; k--)
                {
                    copy[random.Next(copy.Length)] = (byte)random.Next(256);
                }

                return ("random bytes anywhere", copy, Expect.Unknown);
            }

            case 1:
            {
                var copy = (byte[])original.Clone();
                for (int k = random.Next(1, 3); k > 0; k--)
                {
                    copy[8 + random.Next((int)headerLength)] = (byte)random.Next(32, 127);
                }

                return ("random header characters", copy, Expect.Unknown);
            }

            case 2:
            {
                var copy = (byte[])original.Clone();
                if (copy.Length == dataStart)
                {
                    return ("no data to change", copy, Expect.Valid);
                }

                for (int k = random.Next(1, 8); k > 0; k--)
                {
                    copy[dataStart + random.Next(copy.Length - dataStart)] = (byte)random.Next(256);
                }

                return ("random data bytes", copy, Expect.Valid);
            }

            case 3:
                return ("truncated", original[..random.Next(original.Length)], Expect.Invalid);
            case 4:
            {
                var extra = new byte[random.Next(1, 17)];
                random.NextBytes(extra);
                return ("extended", original.Concat(extra).ToArray(), Expect.Invalid);
            }

            case 5:
            {
                var copy = (byte[])original.Clone();
                ulong[] choices = { 0, 1, 2, (ulong)random.NextInt64(), (ulong)(headerLength + random.Next(1, 17)), (ulong)Math.Max(0, headerLength - random.Next(1, 17)), 100_000_001, ulong.MaxValue, (ulong)copy.Length };
                ulong value = choices[random.Next(choices.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(copy, value);
                return ("header length " + value, copy, value == (ulong)headerLength ? Expect.Valid : Expect.Invalid);
            }

            case 6:
            {
                // Padding the header with spaces (and saying so in the length) keeps the file valid.
                var (entries, data) = Split(original);
                return ("padded header", Rebuild(entries, data, new string(' ', random.Next(1, 9))), Expect.Valid);
            }

            default:
                return EditJson(original, random);
        }
    }

    private static (string Kind, byte[] Content, Expect Expect) EditJson(byte[] original, Random random)
    {
        var (entries, data) = Split(original);
        var tensors = entries.Select((e, i) => (e, i)).Where(p => p.e.Key != "__metadata__").Select(p => p.i).ToList();
        if (tensors.Count == 0)
        {
            entries.Add(("t", "{\"dtype\":\"U8\",\"shape\":[" + data.Length + "],\"data_offsets\":[0," + data.Length + "]}"));
            return ("added a tensor covering no data", Rebuild(entries, data), Expect.Valid);
        }

        int target = tensors[random.Next(tensors.Count)];
        var (key, value) = entries[target];
        var node = JsonNode.Parse(value)!.AsObject();
        switch (random.Next(10))
        {
            case 0:
            {
                var offsets = node["data_offsets"]!.AsArray();
                int which = random.Next(2);
                long old = offsets[which]!.GetValue<long>();
                long updated = random.Next(3) switch { 0 => old + random.Next(-9, 10), 1 => random.NextInt64(-5, 200), _ => long.MaxValue - random.Next(3) };
                offsets[which] = updated;
                entries[target] = (key, node.ToJsonString());
                return ("edited an offset", Rebuild(entries, data), updated == old ? Expect.Valid : Expect.Invalid);
            }

            case 1:
            {
                var shape = node["shape"]!.AsArray();
                JsonNode replacement = random.Next(6) switch
                {
                    0 => JsonValue.Create(random.Next(-3, 9)),
                    1 => JsonValue.Create(random.NextInt64()),
                    2 => JsonValue.Create(1.5),
                    3 => JsonValue.Create("2"),
                    4 => JsonValue.Create(ulong.MaxValue),
                    _ => JsonValue.Create(0),
                };
                if (shape.Count == 0 || random.Next(4) == 0)
                {
                    shape.Add(replacement);
                }
                else
                {
                    shape[random.Next(shape.Count)] = replacement;
                }

                entries[target] = (key, node.ToJsonString());
                return ("edited a shape", Rebuild(entries, data), Expect.Unknown);
            }

            case 2:
                node["dtype"] = DTypes[random.Next(DTypes.Length)];
                entries[target] = (key, node.ToJsonString());
                return ("edited a dtype", Rebuild(entries, data), Expect.Unknown);
            case 3:
            {
                // Renaming a tensor to another's name (text-level, as JSON objects cannot hold duplicates).
                int other = tensors[random.Next(tensors.Count)];
                if (other == target)
                {
                    entries[target] = (key + "_renamed", value);
                    return ("renamed a tensor", Rebuild(entries, data), Expect.Valid);
                }

                entries[target] = (entries[other].Key, value);
                return ("renamed a tensor to an existing name", Rebuild(entries, data), Expect.Invalid);
            }

            case 4:
                entries.Insert(random.Next(entries.Count + 1), (key, value));
                return ("duplicated an entry", Rebuild(entries, data), Expect.Invalid);
            case 5:
            {
                string field = new[] { "dtype", "shape", "data_offsets" }[random.Next(3)];
                node.Remove(field);
                entries[target] = (key, node.ToJsonString());
                return ("removed " + field, Rebuild(entries, data), Expect.Invalid);
            }

            case 6:
                entries[target] = (key, value.TrimEnd('}') + ",\"extra\":" + (random.Next(2) == 0 ? "1" : "\"x\"") + "}");
                return ("added a field", Rebuild(entries, data), Expect.Invalid);
            case 7:
            {
                long length = node["data_offsets"]![1]!.GetValue<long>() - node["data_offsets"]![0]!.GetValue<long>();
                entries.RemoveAt(target);
                return ("removed a tensor", Rebuild(entries, data), length == 0 ? Expect.Valid : Expect.Invalid);
            }

            case 8:
            {
                int other = tensors[random.Next(tensors.Count)];
                var otherNode = JsonNode.Parse(entries[other].Value)!.AsObject();
                (node["data_offsets"], otherNode["data_offsets"]) = (otherNode["data_offsets"]!.DeepClone(), node["data_offsets"]!.DeepClone());
                entries[target] = (key, node.ToJsonString());
                entries[other] = (entries[other].Key, otherNode.ToJsonString());
                return ("swapped two tensors' offsets", Rebuild(entries, data), Expect.Unknown);
            }

            default:
            {
                string metadata = random.Next(3) switch
                {
                    0 => "{\"format\":1}",
                    1 => "[\"pt\"]",
                    _ => "{\"a\":\"1\",\"a\":\"2\"}",
                };
                entries.Insert(random.Next(entries.Count + 1), ("__metadata__", metadata));
                return ("bad or second metadata", Rebuild(entries, data), Expect.Invalid);
            }
        }
    }

    private static (List<(string Key, string Value)> Entries, byte[] Data) Split(byte[] file)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        using var doc = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var entries = doc.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetRawText())).ToList();
        return (entries, file[(8 + headerLength)..]);
    }

    private static byte[] Rebuild(List<(string Key, string Value)> entries, byte[] data, string padding = "")
    {
        string json = "{" + string.Join(",", entries.Select(e => JsonSerializer.Serialize(e.Key) + ":" + e.Value)) + "}" + padding;
        return Assemble(Encoding.UTF8.GetBytes(json), data);
    }
}
