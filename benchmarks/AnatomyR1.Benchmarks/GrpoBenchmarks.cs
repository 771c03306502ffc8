using System.Globalization;
using AnatomyR1.TorchSharp.Models.Tiny;
using AnatomyR1.Data;
using AnatomyR1.Synthetic;
using AnatomyR1.TorchSharp.Policy;
using AnatomyR1.TorchSharp.Runtime;
using AnatomyR1.TorchSharp.Training.Grpo;
using BenchmarkDotNet.Attributes;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// One GRPO step of the default (built-in, warm-started) policy on synthetic questions: B = 4 prompts × G = 8
/// completions, at most 64 new tokens, shared-prefix rollouts, accuracy + format rewards, AdamW. With β = 0.04 the
/// step also scores the rollouts under the frozen reference; with β = 0 it does not. After the runs the median time
/// of each phase (generation, reward, reference log-probabilities, loss + backward + optimiser) is printed, from the
/// trainer's own <c>time/…</c> metrics.
/// </summary>
[MemoryDiagnoser]
public class GrpoBenchmarks
{
    private readonly List<GrpoStepMetrics> _steps = new();
    private string _folder = null!;
    private TinyVlmPolicy _policy = null!;
    private GrpoSession _trainer = null!;

    /// <summary>KL weight β (0 skips the reference model).</summary>
    [Params(0.04, 0.0)]
    public double Beta { get; set; }

    /// <summary>Writes a small synthetic dataset and loads the built-in checkpoint.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureThreads();
        _folder = Path.Combine(Path.GetTempPath(), "anatomyr1-bench-grpo-" + Guid.NewGuid().ToString("N")[..8]);
        SyntheticDatasetWriter.Write(_folder, new SyntheticDatasetOptions { Count = 400, Seed = 3 });
        var train = VqaDataLoader.Load(Path.Combine(_folder, "train.json")).Samples;
        _policy = TinyVlmPolicy.Load(BuiltInPolicy.Folder(), "cpu");
        // Steps are "unbounded": the benchmark calls RunStep as often as it needs.
        var options = new GrpoOptions { Steps = int.MaxValue, BatchSize = 4, NumGenerations = 8, Beta = Beta, LearningRate = 1e-5, VisionLearningRate = 1e-5, WarmupSteps = 0, Generation = new GenerationOptions { MaxNewTokens = 64 } };
        _trainer = new GrpoSession(_policy, train.Select(s => new GrpoExample(s)).ToList(), options);
    }

    /// <summary>Prints the phase medians and frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (_steps.Count > 0)
        {
            string Median(string name)
            {
                var values = _steps.Select(s => s[name]).Order().ToList();
                return (1000 * values[values.Count / 2]).ToString("F1", CultureInfo.InvariantCulture) + " ms";
            }

            Console.WriteLine($"// GRPO step breakdown (β = {Beta}, {_steps.Count} steps, medians): step {Median("step_time")}, generation {Median("time/generation")}, " +
                $"reward {Median("time/reward")}, reference log-probs {Median("time/reference_logprobs")}, loss + backward + AdamW {Median("time/backward")}; " +
                $"{_steps.Select(s => s["tokens_per_second"]).Order().ElementAt(_steps.Count / 2).ToString("F0", CultureInfo.InvariantCulture)} generated tokens/s");
        }

        _trainer.Dispose();
        _policy.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One full GRPO step.</summary>
    /// <returns>The step's mean reward.</returns>
    [Benchmark]
    public double GrpoStepB4G8()
    {
        var metrics = _trainer.RunStep();
        _steps.Add(metrics);
        return metrics["reward"];
    }
}
