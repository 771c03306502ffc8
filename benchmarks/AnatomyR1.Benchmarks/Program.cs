using BenchmarkDotNet.Running;

namespace AnatomyR1.Benchmarks;

/// <summary>Runs the benchmark suites: <c>dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Entry point; arguments go to BenchmarkDotNet's switcher (e.g. <c>--filter *Loading*</c>), except <c>qwen-load-memory</c> (peak memory while loading a large Qwen2.5-VL checkpoint), <c>grpo-step-memory</c> (peak memory of a GRPO step per training mode, <see cref="GrpoTrainingModes"/>) and <c>qwen-token-counts</c> (the tokens each Qwen benchmark processes) <c>thread-sweep</c> (rollout time per intra-op thread count, <see cref="ThreadSweep"/>), <c>rollouts-alone</c> (one version's rollouts alone in a process) <c>phase-breakdown</c> (the GRPO step's phases of this checkout against a baseline build, <see cref="PhaseBreakdown"/>) and <c>allreduce-sweep</c> (allreduce time against size, under mpirun, <see cref="AllReduceSweep"/>).</summary>
    /// <param name="args">BenchmarkDotNet arguments.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "qwen-load-memory")
        {
            return QwenLoadMemory.Run(Console.Out);
        }

        if (args.Length > 0 && args[0] == "grpo-step-memory")
        {
            return GrpoTrainingModes.MeasureMemory(Console.Out);
        }

        if (args.Length > 1 && args[0] == "grpo-step-memory-one")
        {
            return GrpoTrainingModes.MeasureOne(args[1], Console.Out);
        }

        if (args.Length > 0 && args[0] == "allreduce-sweep")
        {
            return AllReduceSweep.Run(Console.Out);
        }

        if (args.Length > 0 && args[0] == "thread-sweep")
        {
            return ThreadSweep.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8, Console.Out);
        }

        if (args.Length > 1 && args[0] == "rollouts-alone")
        {
            return PhaseBreakdown.RolloutsAlone(args[1], args.Length > 2 ? args[2] : "built-in", args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 8, Console.Out);
        }

        if (args.Length > 0 && args[0] == "phase-breakdown")
        {
            return PhaseBreakdown.Run(args.Length > 1 ? args[1] : "built-in", args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10, Console.Out);
        }

        if (args.Length > 0 && args[0] == "qwen-token-counts")
        {
            // The tokens each QwenBenchmarks method processes, to turn its times into tokens per second.
            var benchmarks = new QwenBenchmarks();
            benchmarks.Setup();
            foreach (var method in new Func<long>[] { benchmarks.BuiltInPrefill, benchmarks.QwenPrefill, benchmarks.BuiltInRollouts, benchmarks.QwenRollouts, benchmarks.BuiltInUpdate, benchmarks.QwenUpdate })
            {
                Console.WriteLine($"{method.Method.Name}: {method()} tokens");
            }

            benchmarks.Cleanup();
            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
