using System.Globalization;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using static TorchSharp.torch;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// Peak resident memory while <see cref="QwenVLPolicy.Load(string, Device, QwenLoadOptions?)"/> reads a large random
/// Qwen2.5-VL checkpoint (≈ 0.27 B weights: decoder width 1024 × 16 layers, vocabulary 32,768; stored in BF16, loaded
/// as float32), against the size of the float32 model it builds. Linux only (it resets and reads the resident-set
/// high-water mark through /proc). Run: <c>dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- qwen-load-memory</c>.
/// </summary>
public static class QwenLoadMemory
{
    /// <summary>Writes the checkpoint, loads it and prints the figures.</summary>
    /// <param name="output">Where the figures go.</param>
    /// <returns>0, or 1 where the measurement is not possible.</returns>
    public static int Run(TextWriter output)
    {
        if (!File.Exists("/proc/self/clear_refs"))
        {
            output.WriteLine("qwen-load-memory needs Linux's /proc/self/clear_refs.");
            return 1;
        }

        TorchRuntime.EnsureThreads();
        string folder = Path.Combine(Path.GetTempPath(), "anatomyr1-qwen-large-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var config = QwenBenchmarks.TinyConfig(32768);
            config = new QwenVLConfig
            {
                Text = new QwenTextConfig { VocabSize = 32768, HiddenSize = 1024, IntermediateSize = 2816, Layers = 16, Heads = 16, KeyValueHeads = 4, MropeSection = new[] { 8, 12, 12 } },
                Vision = new QwenVisionConfig { Depth = 8, HiddenSize = 512, IntermediateSize = 1368, Heads = 8, OutHiddenSize = 1024, FullAttentionBlocks = new[] { 3, 7 } },
                TieWordEmbeddings = false,
                ImageTokenId = config.ImageTokenId,
                VideoTokenId = config.VideoTokenId,
                VisionStartTokenId = config.VisionStartTokenId,
                VisionEndTokenId = config.VisionEndTokenId,
                EosTokenId = config.EosTokenId,
                PadTokenId = config.PadTokenId,
            };
            using (var model = new QwenVLModel(config))
            {
                File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
                using var scope = NewDisposeScope();
                var bf16 = model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter.detach().to_type(ScalarType.BFloat16))).ToList();
                SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), bf16);
            }

            foreach (string file in Directory.GetFiles(QwenBenchmarks.TokenizerFolder()))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            long fileBytes = new FileInfo(Path.Combine(folder, "model.safetensors")).Length;
            File.WriteAllText("/proc/self/clear_refs", "5");
            long before = StatusKiB("VmRSS");
            using var policy = QwenVLPolicy.Load(folder, CPU);
            long peak = (StatusKiB("VmHWM") - before) * 1024;
            long after = (StatusKiB("VmRSS") - before) * 1024;
            long modelBytes = config.ParameterCount * 4;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"weights {config.ParameterCount / 1e6:F1} M; checkpoint file {fileBytes / 1e6:F0} MB (BF16); float32 model {modelBytes / 1e6:F0} MB"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"resident growth after loading {after / 1e6:F0} MB; peak growth while loading {peak / 1e6:F0} MB = {(double)peak / modelBytes:F2} × the model"));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A field of /proc/self/status in KiB (VmRSS, VmHWM, …).</summary>
    internal static long StatusKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {field}.");
    }
}
