using BenchmarkDotNet.Running;

namespace AnatomyR1.Benchmarks;

/// <summary>Runs the benchmark suites: <c>dotnet run -c Release --project benchmarks/AnatomyR1.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Entry point; arguments go to BenchmarkDotNet's switcher (e.g. <c>--filter *Loading*</c>).</summary>
    /// <param name="args">BenchmarkDotNet arguments.</param>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
