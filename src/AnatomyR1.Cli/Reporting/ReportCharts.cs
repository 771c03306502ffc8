using System.Globalization;
using SkiaSharp;

namespace AnatomyR1.Cli.Reporting;

/// <summary>One line of a line chart.</summary>
/// <param name="Name">Legend label.</param>
/// <param name="Points">(x, y) points; non-finite y values leave a gap.</param>
internal sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Small PNG charts for the demo report, drawn with SkiaSharp 2.88.9, the version the core's scene renderer and ML.NET's
/// image transforms are built against. ScottPlot 5 (5.0.55 and 5.1.59 were tried) brings SkiaSharp 3.119, which would
/// replace 2.88.9 in the whole application, a major-version swap under code compiled for 2.88. Text uses the DejaVu
/// Sans font when installed (Debian's fonts-dejavu-core), else Skia's default typeface.
/// </summary>
internal static class ReportCharts
{
    private const int Width = 900;
    private const int Height = 500;
    private const float Left = 80, Right = 30, Top = 50, Bottom = 70;
    private static readonly SKColor[] Palette = { new(31, 119, 180), new(214, 39, 40), new(44, 160, 44), new(148, 103, 189), new(255, 127, 14), new(23, 190, 207) };
    private static readonly Lazy<SKTypeface> Font = new(LoadFont);

    /// <summary>Whether a real font file was found (otherwise labels may not render).</summary>
    public static bool HasFont => Font.Value != SKTypeface.Default;

    /// <summary>A line chart as PNG bytes.</summary>
    public static byte[] Lines(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series)
    {
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y)).ToList();
        double xMin = points.Count == 0 ? 0 : points.Min(p => p.X), xMax = points.Count == 0 ? 1 : points.Max(p => p.X);
        double yMin = points.Count == 0 ? 0 : points.Min(p => p.Y), yMax = points.Count == 0 ? 1 : points.Max(p => p.Y);
        (yMin, yMax) = Pad(yMin, yMax);
        xMax = xMax > xMin ? xMax : xMin + 1;
        return Draw(title, xLabel, yLabel, xMin, xMax, yMin, yMax, (canvas, x, y) =>
        {
            for (int s = 0; s < series.Count; s++)
            {
                using var pen = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
                using var path = new SKPath();
                bool open = false;
                foreach (var (px, py) in series[s].Points)
                {
                    if (!double.IsFinite(py))
                    {
                        open = false;
                        continue;
                    }

                    if (open)
                    {
                        path.LineTo(x(px), y(py));
                    }
                    else
                    {
                        path.MoveTo(x(px), y(py));
                        open = true;
                    }
                }

                canvas.DrawPath(path, pen);
            }

            Legend(canvas, series.Select(s => s.Name).ToList());
        });
    }

    /// <summary>A grouped bar chart (one group per category, one bar per series) as PNG bytes.</summary>
    public static byte[] Bars(string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<(string Name, IReadOnlyList<double> Values)> series)
    {
        double yMax = series.SelectMany(s => s.Values).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        yMax = yMax > 0 ? yMax * 1.15 : 1;
        return Draw(title, string.Empty, yLabel, 0, categories.Count, 0, yMax, (canvas, x, y) =>
        {
            float group = x(1) - x(0);
            float bar = group * 0.8f / Math.Max(1, series.Count);
            for (int c = 0; c < categories.Count; c++)
            {
                for (int s = 0; s < series.Count; s++)
                {
                    double v = series[s].Values[c];
                    if (!double.IsFinite(v))
                    {
                        continue;
                    }

                    float left = x(c) + (group * 0.1f) + (s * bar);
                    using var fill = new SKPaint { Color = Palette[s % Palette.Length], IsAntialias = true };
                    canvas.DrawRect(new SKRect(left, y(v), left + bar - 2, y(0)), fill);
                    Text(canvas, v.ToString("0.00", CultureInfo.InvariantCulture), left + (bar / 2), y(v) - 4, 11, SKTextAlign.Center);
                }

                Text(canvas, categories[c], x(c) + (group / 2), Height - Bottom + 20, 12, SKTextAlign.Center);
            }

            Legend(canvas, series.Select(s => s.Name).ToList());
        }, categoricalX: true);
    }

    private static byte[] Draw(string title, string xLabel, string yLabel, double xMin, double xMax, double yMin, double yMax,
        Action<SKCanvas, Func<double, float>, Func<double, float>> content, bool categoricalX = false)
    {
        using var bitmap = new SKBitmap(Width, Height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        float X(double v) => Left + (float)((v - xMin) / (xMax - xMin) * (Width - Left - Right));
        float Y(double v) => Height - Bottom - (float)((v - yMin) / (yMax - yMin) * (Height - Top - Bottom));
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.2f, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        for (int t = 0; t <= 5; t++)
        {
            double v = yMin + ((yMax - yMin) * t / 5);
            canvas.DrawLine(Left, Y(v), Width - Right, Y(v), grid);
            Text(canvas, v.ToString(Math.Abs(yMax - yMin) < 5 ? "0.00" : "0", CultureInfo.InvariantCulture), Left - 8, Y(v) + 4, 12, SKTextAlign.Right);
        }

        if (!categoricalX)
        {
            for (int t = 0; t <= 5; t++)
            {
                double v = xMin + ((xMax - xMin) * t / 5);
                Text(canvas, v.ToString("0", CultureInfo.InvariantCulture), X(v), Height - Bottom + 20, 12, SKTextAlign.Center);
            }
        }

        canvas.DrawLine(Left, Height - Bottom, Width - Right, Height - Bottom, axis);
        canvas.DrawLine(Left, Top, Left, Height - Bottom, axis);
        content(canvas, X, Y);
        Text(canvas, title, Width / 2f, 30, 18, SKTextAlign.Center);
        Text(canvas, xLabel, Width / 2f, Height - 20, 14, SKTextAlign.Center);
        canvas.Save();
        canvas.RotateDegrees(-90, 22, Height / 2f);
        Text(canvas, yLabel, 22, Height / 2f, 14, SKTextAlign.Center);
        canvas.Restore();
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static void Legend(SKCanvas canvas, IReadOnlyList<string> names)
    {
        float x = Width - Right - 190, y = Top + 10;
        for (int i = 0; i < names.Count; i++)
        {
            using var fill = new SKPaint { Color = Palette[i % Palette.Length] };
            canvas.DrawRect(new SKRect(x, y + (i * 20), x + 14, y + (i * 20) + 14), fill);
            Text(canvas, names[i], x + 20, y + (i * 20) + 12, 13, SKTextAlign.Left);
        }
    }

    private static void Text(SKCanvas canvas, string text, float x, float y, float size, SKTextAlign align)
    {
        if (text.Length == 0)
        {
            return;
        }

        using var paint = new SKPaint { Color = SKColors.Black, TextSize = size, IsAntialias = true, Typeface = Font.Value, TextAlign = align };
        canvas.DrawText(text, x, y, paint);
    }

    private static (double, double) Pad(double lo, double hi)
    {
        if (hi - lo < 1e-9)
        {
            return (lo - 0.5, hi + 0.5);
        }

        double pad = (hi - lo) * 0.08;
        return (lo - pad, hi + pad);
    }

    private static SKTypeface LoadFont()
    {
        foreach (string path in new[] { "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/Library/Fonts/Arial.ttf", @"C:\Windows\Fonts\arial.ttf" })
        {
            if (File.Exists(path) && SKTypeface.FromFile(path) is { } face)
            {
                return face;
            }
        }

        return SKTypeface.Default;
    }
}
