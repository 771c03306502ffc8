using System.Globalization;
using AnatomyR1.TorchSharp.Training.Grpo;
using Spectre.Console;

namespace AnatomyR1.Cli;

/// <summary>
/// Runs a GRPO trainer step by step while showing its progress: a live table on an interactive terminal, one line
/// every few steps otherwise (logs, CI, tests). Runs until step <c>stopAt</c>; stops between steps when the token is
/// cancelled.
/// </summary>
internal static class TrainingDisplay
{
    public static List<GrpoStepMetrics> Run(IAnsiConsole console, GrpoSession trainer, int stopAt, int totalSteps, string title, CancellationToken token, int lineEvery = 10)
    {
        var history = new List<GrpoStepMetrics>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int first = trainer.Step;
        string Line(GrpoStepMetrics m) => string.Create(CultureInfo.InvariantCulture,
            $"{title} step {m.Step}/{totalSteps}  reward {Get(m, "reward"):0.000}  accuracy {Get(m, "rewards/accuracy/mean"):0.000}  invalid-gradient {Get(m, "frac_reward_zero_std"):0.000}  S(q) {Get(m, "curriculum/mean_s_q"):0.000}  {Get(m, "tokens_per_second"):0} tok/s  ETA {Eta(m.Step):mm\\:ss}");
        TimeSpan Eta(int step) => step <= first ? TimeSpan.Zero : TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / (step - first) * (totalSteps - step));

        if (!console.Profile.Capabilities.Interactive)
        {
            while (trainer.Step < stopAt && !trainer.ShouldStop(token))
            {
                var m = trainer.RunStep();
                history.Add(m);
                if (m.Step % lineEvery == 0 || m.Step == stopAt || m.Step == first + 1)
                {
                    console.WriteLine(Line(m));
                }
            }

            return history;
        }

        var table = new Table().Title(Markup.Escape(title));
        foreach (string h in new[] { "step", "reward", "accuracy", "invalid gradient", "S(q)", "tokens/s", "step time", "ETA" })
        {
            table.AddColumn(h);
        }

        table.AddRow("…", "", "", "", "", "", "", "");
        console.Live(table).Start(ctx =>
        {
            while (trainer.Step < stopAt && !trainer.ShouldStop(token))
            {
                var m = trainer.RunStep();
                history.Add(m);
                table.UpdateCell(0, 0, $"{m.Step}/{totalSteps}");
                table.UpdateCell(0, 1, F(Get(m, "reward")));
                table.UpdateCell(0, 2, F(Get(m, "rewards/accuracy/mean")));
                table.UpdateCell(0, 3, F(Get(m, "frac_reward_zero_std")));
                table.UpdateCell(0, 4, F(Get(m, "curriculum/mean_s_q")));
                table.UpdateCell(0, 5, Get(m, "tokens_per_second").ToString("0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 6, Get(m, "step_time").ToString("0.00 s", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 7, Eta(m.Step).ToString(@"mm\:ss", CultureInfo.InvariantCulture));
                ctx.Refresh();
            }
        });
        return history;
    }

    private static double Get(GrpoStepMetrics m, string name) => m.TryGet(name, out double v) ? v : double.NaN;

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "–";
}
