using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// The metrics of one GRPO step, named as TRL names them (<c>reward</c>, <c>reward_std</c>,
/// <c>rewards/&lt;name&gt;/mean</c>, <c>frac_reward_zero_std</c>, <c>kl</c>, <c>clip_ratio/low_mean</c>,
/// <c>completions/mean_length</c>, <c>entropy</c>, <c>grad_norm</c>, <c>learning_rate</c>, <c>step_time</c> …) plus
/// the per-class invalid gradient ratio <c>frac_reward_zero_std/&lt;class&gt;</c>, <c>tokens_per_second</c> and the
/// time breakdown <c>time/…</c>.
/// </summary>
public sealed class GrpoStepMetrics
{
    private readonly List<KeyValuePair<string, double>> _values;

    /// <summary>Creates the record.</summary>
    /// <param name="step">The 1-based step.</param>
    /// <param name="values">Metric names and values in logging order.</param>
    public GrpoStepMetrics(int step, IEnumerable<KeyValuePair<string, double>> values)
    {
        Step = step;
        _values = values.ToList();
    }

    /// <summary>The 1-based step.</summary>
    public int Step { get; }

    /// <summary>The metrics in logging order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Values => _values;

    /// <summary>A metric's value.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The value.</returns>
    /// <exception cref="KeyNotFoundException">No such metric at this step.</exception>
    public double this[string name] => TryGet(name, out double v) ? v : throw new KeyNotFoundException($"Step {Step} has no metric '{name}'.");

    /// <summary>Looks a metric up.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">Its value.</param>
    /// <returns>Whether it exists.</returns>
    public bool TryGet(string name, out double value)
    {
        foreach (var pair in _values)
        {
            if (pair.Key == name)
            {
                value = pair.Value;
                return true;
            }
        }

        value = double.NaN;
        return false;
    }

    /// <summary>One JSON object on one line: <c>{"step": …, "&lt;metric&gt;": …}</c>; non-finite values are written as null.</summary>
    /// <returns>The line.</returns>
    public string ToJsonLine()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", Step);
            foreach (var (name, value) in _values)
            {
                if (double.IsFinite(value))
                {
                    writer.WriteNumber(name, value);
                }
                else
                {
                    writer.WriteNull(name);
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Parses a line written by <see cref="ToJsonLine"/>.</summary>
    /// <param name="line">The line.</param>
    /// <returns>The metrics.</returns>
    public static GrpoStepMetrics FromJsonLine(string line)
    {
        using var document = JsonDocument.Parse(line);
        int step = document.RootElement.GetProperty("step").GetInt32();
        var values = document.RootElement.EnumerateObject().Where(p => p.Name != "step")
            .Select(p => new KeyValuePair<string, double>(p.Name, p.Value.ValueKind == JsonValueKind.Null ? double.NaN : p.Value.GetDouble()));
        return new GrpoStepMetrics(step, values);
    }

    /// <summary>A short human-readable summary.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        string Get(string name, string format) => TryGet(name, out double v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        return $"step {Step}: reward {Get("reward", "F3")} ± {Get("reward_std", "F3")}, zero-std {Get("frac_reward_zero_std", "F2")}, kl {Get("kl", "F4")}, " +
            $"len {Get("completions/mean_length", "F1")}, {Get("step_time", "F2")} s";
    }
}
