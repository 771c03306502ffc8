using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace AnatomyR1.TorchSharp.Tests;

/// <summary>Collects the info lines the GRPO estimator writes to an ML.NET context's log.</summary>
internal static class GrpoLog
{
    /// <summary>Subscribes to <paramref name="ml"/>'s log and returns the list the <c>AnatomyR1.Grpo</c> info lines go to.</summary>
    /// <param name="ml">The context.</param>
    /// <returns>The growing list of lines.</returns>
    public static List<string> Capture(MLContext ml)
    {
        var lines = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source == "AnatomyR1.Grpo" && e.Kind == ChannelMessageKind.Info)
            {
                lines.Add(e.RawMessage);
            }
        };
        return lines;
    }
}
