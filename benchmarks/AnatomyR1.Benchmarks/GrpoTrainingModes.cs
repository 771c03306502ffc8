using System.Diagnostics;
using System.Globalization;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Lora;
using AnatomyR1.TorchSharp.Models.Qwen;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training.Grpo;
using BenchmarkDotNet.Attributes;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// One GRPO step (B = 4 prompts × G = 8 completions, 48 new tokens, β = 0.04, AdamW) of freshly initialised models on
/// synthetic scenes: the built-in architecture (full fine-tuning) and the <c>qwen-tiny</c> Qwen2.5-VL preset in full
/// fine-tuning and with LoRA (r = 16 on the decoder's attention and MLP projections), each with and without
/// activation checkpointing. Random models rarely emit the end token, so every completion runs to 48 tokens and all
/// modes score the same number of tokens. Time: BenchmarkDotNet over <see cref="Step"/>; peak memory:
/// <c>dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- grpo-step-memory</c> (each mode in a fresh
/// process, resident-set high-water mark through /proc, Linux only).
/// </summary>
[MemoryDiagnoser]
public class GrpoTrainingModes
{
    /// <summary>The modes measured.</summary>
    public static readonly string[] AllModes = { "builtin-full", "builtin-full-ckpt", "qwen-full", "qwen-full-ckpt", "qwen-lora", "qwen-lora-ckpt" };

    private string _folder = null!;
    private IVisionLanguagePolicy _policy = null!;
    private GrpoSession _session = null!;

    /// <summary>Model, fine-tuning and checkpointing.</summary>
    [ParamsSource(nameof(ModeValues))]
    public string Mode { get; set; } = "qwen-lora";

    /// <summary>The values of <see cref="Mode"/>.</summary>
    public static IEnumerable<string> ModeValues => AllModes;

    /// <summary>Writes the data, creates the model and the session, and runs one step to warm up.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Prepare();
        _session.RunStep();
    }

    private void Prepare()
    {
        TorchRuntime.EnsureThreads();
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-modes-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 200, Seed = 3 });
        var train = VqaDataLoader.Load(Path.Combine(_folder, "train.json")).Samples;
        _policy = Mode.StartsWith("qwen", StringComparison.Ordinal)
            ? QwenPresets.Create(QwenPresets.Tiny, TorchRuntime.ResolveDevice("cpu"), seed: 1)
            : TinyVlmPolicy.Create(DefaultVocabulary.CreateTokenizer(), device: "cpu", seed: 1);
        var options = new GrpoOptions
        {
            Steps = int.MaxValue, BatchSize = 4, NumGenerations = 8, Beta = 0.04, LearningRate = 1e-5, VisionLearningRate = 1e-5, WarmupSteps = 0,
            Generation = new GenerationOptions { MaxNewTokens = 48 },
            Lora = Mode.Contains("lora", StringComparison.Ordinal) ? new LoraOptions { Rank = 16, Alpha = 32, Dropout = 0 } : null,
            GradientCheckpointing = Mode.EndsWith("ckpt", StringComparison.Ordinal),
        };
        _session = new GrpoSession(_policy, train.Select(s => new GrpoExample(s)).ToList(), options);
    }

    /// <summary>Frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _policy.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One GRPO step.</summary>
    /// <returns>The step's metrics.</returns>
    [Benchmark]
    public GrpoStepMetrics Step() => _session.RunStep();

    /// <summary>
    /// Runs every mode in a child process and prints the peak growth of its resident memory over 4 steps (the first
    /// included) above the memory after creating the model and the session, the optimised weights and the median
    /// time of the last 3 steps.
    /// </summary>
    /// <param name="output">Where the table goes.</param>
    /// <returns>0, or 1 where the measurement is not possible.</returns>
    public static int MeasureMemory(TextWriter output)
    {
        if (!File.Exists("/proc/self/clear_refs"))
        {
            output.WriteLine("grpo-step-memory needs Linux's /proc/self/clear_refs.");
            return 1;
        }

        output.WriteLine("| mode | trained weights | resident before step 1 | peak growth over 4 steps | median step (2–4) |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        string self = Environment.ProcessPath!;
        string? assembly = self.EndsWith("dotnet", StringComparison.Ordinal) ? typeof(GrpoTrainingModes).Assembly.Location : null;
        foreach (string mode in AllModes)
        {
            var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
            if (assembly is not null)
            {
                start.ArgumentList.Add(assembly);
            }

            start.ArgumentList.Add("grpo-step-memory-one");
            start.ArgumentList.Add(mode);
            using var child = Process.Start(start)!;
            string line = child.StandardOutput.ReadToEnd().Trim().Split('\n').Last();
            child.WaitForExit();
            output.WriteLine(child.ExitCode == 0 ? line : $"| {mode} | failed with exit code {child.ExitCode} | | | |");
        }

        return 0;
    }

    /// <summary>Measures one mode in this process (the child of <see cref="MeasureMemory"/>).</summary>
    /// <param name="mode">The mode.</param>
    /// <param name="output">Where the table row goes.</param>
    /// <returns>0.</returns>
    public static int MeasureOne(string mode, TextWriter output)
    {
        var bench = new GrpoTrainingModes { Mode = mode };
        bench.Prepare();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        MallocTrim(0);
        long before = QwenLoadMemory.StatusKiB("VmRSS");
        File.WriteAllText("/proc/self/clear_refs", "5");
        var times = new List<double>();
        for (int i = 0; i < 4; i++)
        {
            double time = bench.Step()["step_time"];
            if (i > 0)
            {
                times.Add(time);
            }
        }

        long peak = QwenLoadMemory.StatusKiB("VmHWM") - before;
        long trained = bench._session.TrainableParameterCount;
        times.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {mode} | {trained:N0} | {before / 1024.0:F0} MB | {peak / 1024.0:F0} MB | {times[1] * 1000:F0} ms |"));
        bench.Cleanup();
        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
