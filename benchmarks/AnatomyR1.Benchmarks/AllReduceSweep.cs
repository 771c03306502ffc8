using System.Diagnostics;
using System.Globalization;
using AnatomyR1.TorchSharp.Distributed;

namespace AnatomyR1.Benchmarks;

/// <summary>
/// Allreduce (sum, float32, in place) time against buffer size over the job this process was started in:
/// <c>mpirun -np 2 dotnet AnatomyR1.Benchmarks.dll allreduce-sweep</c>. Rank 0 prints the median of each size and the
/// algorithm bandwidth (bytes / time) in a Markdown table.
/// </summary>
internal static class AllReduceSweep
{
    public static int Run(TextWriter output)
    {
        using var group = ProcessGroups.FromEnvironment();
        if (group.Size < 2)
        {
            output.WriteLine("allreduce-sweep needs several processes: mpirun -np 2 dotnet AnatomyR1.Benchmarks.dll allreduce-sweep");
            return 2;
        }

        if (group.Rank == 0)
        {
            output.WriteLine($"Allreduce (sum, float32, in place), {group.Description}; median of the repetitions:");
            output.WriteLine("| floats | MB | repetitions | median ms | GB/s (bytes / time) |");
            output.WriteLine("|---:|---:|---:|---:|---:|");
        }

        for (int log2 = 10; log2 <= 26; log2 += 2)
        {
            int n = 1 << log2;
            var buffer = new float[n];
            Array.Fill(buffer, group.Rank + 1);
            int repetitions = log2 <= 18 ? 50 : log2 <= 22 ? 20 : 8;
            var times = new double[repetitions];
            group.AllReduce(buffer.AsSpan(), ReduceOp.Sum);   // warm-up
            for (int r = 0; r < repetitions; r++)
            {
                group.Barrier();
                var clock = Stopwatch.StartNew();
                group.AllReduce(buffer.AsSpan(), ReduceOp.Sum);
                times[r] = clock.Elapsed.TotalSeconds;
            }

            Array.Sort(times);
            double median = times[repetitions / 2];
            if (group.Rank == 0)
            {
                double bytes = 4.0 * n;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n:N0} | {bytes / 1e6:0.###} | {repetitions} | {median * 1e3:0.###} | {bytes / median / 1e9:0.00} |"));
            }
        }

        return 0;
    }
}
