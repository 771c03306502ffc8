using System.Diagnostics;
using System.Globalization;

namespace AnatomyR1.Cli.Tests;

/// <summary>Helpers for tests that run the CLI in processes of its own and signal them mid-run.</summary>
internal static class RunningCli
{
    /// <summary>Waits until the run has logged <paramref name="steps"/> steps, the process ended, or 3 minutes passed.</summary>
    public static void WaitForSteps(Process process, string metrics, int steps)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline && !process.HasExited && (!File.Exists(metrics) || File.ReadAllLines(metrics).Length < steps))
        {
            Thread.Sleep(100);
        }
    }

    /// <summary>Sends a signal (by name, e.g. TERM or USR1) to a process with kill(1).</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", new[] { "-" + signal, process.Id.ToString(CultureInfo.InvariantCulture) })!;
        kill.WaitForExit();
    }
}
