using SkiaSharp;

namespace AnatomyR1.Synthetic;

/// <summary>
/// Draws a <see cref="SceneLayout"/> with SkiaSharp and encodes it as PNG: a dark red abdominal cavity, textured
/// anatomy blobs, metallic instruments on top. Output depends only on the layout (byte-identical for equal layouts).
/// </summary>
public static class SceneRenderer
{
    /// <summary>Renders a layout to PNG bytes.</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The PNG file content.</returns>
    public static byte[] RenderPng(SceneLayout layout)
    {
        using var bitmap = Render(layout);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Renders a layout to a bitmap (the caller disposes it).</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The bitmap, RGBA 8888.</returns>
    public static SKBitmap Render(SceneLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        int size = layout.Graph.Size;
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        DrawBackground(canvas, size, new Random(layout.BackgroundSeed));
        foreach (var d in layout.Drawn.Where(d => d.Object.Kind == ObjectKind.Anatomy))
        {
            DrawAnatomy(canvas, d, size);
        }

        foreach (var d in layout.Drawn.Where(d => d.Object.Kind == ObjectKind.Instrument))
        {
            DrawInstrument(canvas, d, size);
        }

        canvas.Flush();
        return bitmap;
    }

    private static void DrawBackground(SKCanvas canvas, int size, Random random)
    {
        var centre = new SKPoint(size * (0.45f + (0.1f * (float)random.NextDouble())), size * (0.45f + (0.1f * (float)random.NextDouble())));
        using var shader = SKShader.CreateRadialGradient(centre, size * 0.75f,
            new[] { new SKColor(92, 34, 32), new SKColor(22, 6, 6) }, SKShaderTileMode.Clamp);
        using var paint = new SKPaint { Shader = shader, IsAntialias = true };
        canvas.DrawRect(0, 0, size, size, paint);
        using var speck = new SKPaint { IsAntialias = true, Color = new SKColor(60, 18, 18, 90) };
        for (int i = 0; i < 6; i++)
        {
            canvas.DrawOval(size * (float)random.NextDouble(), size * (float)random.NextDouble(), size * 0.08f, size * 0.04f, speck);
        }
    }

    private static SKPath BlobPath(DrawnObject d)
    {
        var look = AnatomyAppearance.ByClass[d.Object.Class];
        float stretch = MathF.Sqrt(look.Elongation);
        int n = d.Outline.Length;
        var points = new SKPoint[n];
        float cos = MathF.Cos(d.Angle), sin = MathF.Sin(d.Angle);
        for (int i = 0; i < n; i++)
        {
            float t = 2 * MathF.PI * i / n;
            float x = MathF.Cos(t) * d.Radius * stretch * d.Outline[i];
            float y = MathF.Sin(t) * d.Radius / stretch * d.Outline[i];
            points[i] = new SKPoint(d.Centre.X + (x * cos) - (y * sin), d.Centre.Y + (x * sin) + (y * cos));
        }

        // A smooth closed curve through the midpoints, with the sampled points as control points.
        var path = new SKPath();
        SKPoint Mid(int i) => new((points[i % n].X + points[(i + 1) % n].X) / 2, (points[i % n].Y + points[(i + 1) % n].Y) / 2);
        path.MoveTo(Mid(0));
        for (int i = 1; i <= n; i++)
        {
            path.QuadTo(points[i % n], Mid(i));
        }

        path.Close();
        return path;
    }

    private static void DrawAnatomy(SKCanvas canvas, DrawnObject d, int size)
    {
        var look = AnatomyAppearance.ByClass[d.Object.Class];
        var random = new Random(d.TextureSeed);
        using var path = BlobPath(d);
        using var fill = new SKPaint { IsAntialias = true, Color = d.Colour, Style = SKPaintStyle.Fill };
        canvas.DrawPath(path, fill);

        canvas.Save();
        canvas.ClipPath(path, SKClipOperation.Intersect, antialias: true);
        float unit = size / 64f;
        switch (look.Texture)
        {
            case Texture.Smooth:
            {
                var highlight = new SKPoint(d.Centre.X - (d.Radius * 0.3f), d.Centre.Y - (d.Radius * 0.3f));
                using var shader = SKShader.CreateRadialGradient(highlight, d.Radius * 0.9f,
                    new[] { Shade(d.Colour, 1.35f).WithAlpha(170), d.Colour.WithAlpha(0) }, SKShaderTileMode.Clamp);
                using var paint = new SKPaint { IsAntialias = true, Shader = shader };
                canvas.DrawCircle(d.Centre, d.Radius * 1.8f, paint);
                break;
            }

            case Texture.Striated:
            {
                using var paint = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 0.78f), StrokeWidth = 0.9f * unit, Style = SKPaintStyle.Stroke };
                float angle = d.Angle + 0.3f;
                float dx = MathF.Cos(angle), dy = MathF.Sin(angle);
                for (float offset = -d.Radius * 2; offset <= d.Radius * 2; offset += 2.6f * unit)
                {
                    var p = new SKPoint(d.Centre.X - (dy * offset), d.Centre.Y + (dx * offset));
                    canvas.DrawLine(p.X - (dx * d.Radius * 2), p.Y - (dy * d.Radius * 2), p.X + (dx * d.Radius * 2), p.Y + (dy * d.Radius * 2), paint);
                }

                break;
            }

            case Texture.Looped:
            {
                using var paint = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 0.7f), StrokeWidth = 1.1f * unit, Style = SKPaintStyle.Stroke };
                for (int i = 0; i < 4; i++)
                {
                    float r = d.Radius * (0.25f + (0.25f * (float)random.NextDouble()));
                    var c = new SKPoint(d.Centre.X + (d.Radius * 0.9f * ((float)random.NextDouble() - 0.5f)), d.Centre.Y + (d.Radius * 0.9f * ((float)random.NextDouble() - 0.5f)));
                    canvas.DrawCircle(c, r, paint);
                }

                break;
            }

            case Texture.Lobulated:
            {
                using var light = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 1.15f) };
                using var dark = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 0.8f), Style = SKPaintStyle.Stroke, StrokeWidth = 0.6f * unit };
                for (int i = 0; i < 14; i++)
                {
                    var c = new SKPoint(d.Centre.X + (d.Radius * 2.2f * ((float)random.NextDouble() - 0.5f)), d.Centre.Y + (d.Radius * 2.2f * ((float)random.NextDouble() - 0.5f)));
                    float r = unit * (1.3f + (1.2f * (float)random.NextDouble()));
                    canvas.DrawCircle(c, r, light);
                    canvas.DrawCircle(c, r, dark);
                }

                break;
            }
        }

        canvas.Restore();
        using var outline = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 0.55f), Style = SKPaintStyle.Stroke, StrokeWidth = 0.8f * unit };
        canvas.DrawPath(path, outline);
    }

    private static void DrawInstrument(SKCanvas canvas, DrawnObject d, int size)
    {
        float unit = size / 64f;
        var tip = d.Centre;
        float dx = MathF.Cos(d.Angle), dy = MathF.Sin(d.Angle);
        var end = new SKPoint(tip.X + (dx * size * 1.5f), tip.Y + (dy * size * 1.5f));
        var neck = new SKPoint(tip.X + (dx * d.Radius), tip.Y + (dy * d.Radius));
        using var shaft = new SKPaint { IsAntialias = true, Color = Shade(d.Colour, 0.75f), StrokeWidth = 3.2f * unit, StrokeCap = SKStrokeCap.Butt, Style = SKPaintStyle.Stroke };
        using var metal = new SKPaint { IsAntialias = true, Color = d.Colour, StrokeWidth = 1.6f * unit, StrokeCap = SKStrokeCap.Round, Style = SKPaintStyle.Stroke };
        using var edge = new SKPaint { IsAntialias = true, Color = new SKColor(40, 40, 44), StrokeWidth = 0.6f * unit, Style = SKPaintStyle.Stroke };
        float px = -dy, py = dx;
        switch (d.Object.Class)
        {
            case "specimen bag":
            {
                canvas.DrawLine(neck, end, shaft);
                using var bag = new SKPaint { IsAntialias = true, Color = d.Colour.WithAlpha(210) };
                canvas.DrawOval(new SKRect(tip.X - (d.Radius * 0.9f), tip.Y - (d.Radius * 0.7f), tip.X + (d.Radius * 0.9f), tip.Y + (d.Radius * 0.7f)), bag);
                canvas.DrawOval(new SKRect(tip.X - (d.Radius * 0.9f), tip.Y - (d.Radius * 0.7f), tip.X + (d.Radius * 0.9f), tip.Y + (d.Radius * 0.7f)), edge);
                return;
            }

            case "irrigator":
                shaft.StrokeWidth = 4.2f * unit;
                canvas.DrawLine(tip, end, shaft);
                canvas.DrawLine(tip, new SKPoint(tip.X + (dx * d.Radius * 1.2f), tip.Y + (dy * d.Radius * 1.2f)), metal);
                return;
        }

        canvas.DrawLine(neck, end, shaft);
        canvas.DrawLine(neck, new SKPoint(neck.X + (dx * size * 1.5f), neck.Y + (dy * size * 1.5f)), edge);
        float jaw = d.Radius;
        switch (d.Object.Class)
        {
            case "grasper":
                canvas.DrawLine(neck, new SKPoint(tip.X + (px * jaw * 0.35f), tip.Y + (py * jaw * 0.35f)), metal);
                canvas.DrawLine(neck, new SKPoint(tip.X - (px * jaw * 0.35f), tip.Y - (py * jaw * 0.35f)), metal);
                break;
            case "hook":
                canvas.DrawLine(neck, tip, metal);
                canvas.DrawLine(tip, new SKPoint(tip.X + (px * jaw * 0.5f), tip.Y + (py * jaw * 0.5f)), metal);
                break;
            case "scissors":
                canvas.DrawLine(new SKPoint(neck.X + (px * jaw * 0.3f), neck.Y + (py * jaw * 0.3f)), new SKPoint(tip.X - (px * jaw * 0.3f), tip.Y - (py * jaw * 0.3f)), metal);
                canvas.DrawLine(new SKPoint(neck.X - (px * jaw * 0.3f), neck.Y - (py * jaw * 0.3f)), new SKPoint(tip.X + (px * jaw * 0.3f), tip.Y + (py * jaw * 0.3f)), metal);
                break;
            case "clipper":
                canvas.DrawLine(new SKPoint(neck.X + (px * jaw * 0.2f), neck.Y + (py * jaw * 0.2f)), new SKPoint(tip.X + (px * jaw * 0.2f), tip.Y + (py * jaw * 0.2f)), metal);
                canvas.DrawLine(new SKPoint(neck.X - (px * jaw * 0.2f), neck.Y - (py * jaw * 0.2f)), new SKPoint(tip.X - (px * jaw * 0.2f), tip.Y - (py * jaw * 0.2f)), metal);
                using (var clip = new SKPaint { IsAntialias = true, Color = new SKColor(212, 170, 60) })
                {
                    canvas.DrawCircle(tip, 1.2f * unit, clip);
                }

                break;
            default: // bipolar: two thin insulated prongs
                metal.StrokeWidth = 1.1f * unit;
                canvas.DrawLine(new SKPoint(neck.X + (px * jaw * 0.15f), neck.Y + (py * jaw * 0.15f)), new SKPoint(tip.X + (px * jaw * 0.15f), tip.Y + (py * jaw * 0.15f)), metal);
                canvas.DrawLine(new SKPoint(neck.X - (px * jaw * 0.15f), neck.Y - (py * jaw * 0.15f)), new SKPoint(tip.X - (px * jaw * 0.15f), tip.Y - (py * jaw * 0.15f)), metal);
                break;
        }
    }

    private static SKColor Shade(SKColor c, float factor) => new(
        (byte)Math.Clamp((int)(c.Red * factor), 0, 255),
        (byte)Math.Clamp((int)(c.Green * factor), 0, 255),
        (byte)Math.Clamp((int)(c.Blue * factor), 0, 255),
        c.Alpha);
}
