using SkiaSharp;

namespace AnatomyR1.Synthetic;

/// <summary>Everything needed to draw one object: its scene-graph entry plus geometry and colour.</summary>
/// <param name="Object">The scene-graph object.</param>
/// <param name="Colour">Its instance colour.</param>
/// <param name="Centre">Blob centre or instrument tip, in pixels.</param>
/// <param name="Radius">Blob radius (or instrument jaw length), in pixels.</param>
/// <param name="Angle">Orientation in radians (blob long axis, or the instrument shaft direction from the tip).</param>
/// <param name="Outline">Blob outline radii factors (anatomy only).</param>
/// <param name="TextureSeed">Seed of the texture details.</param>
public sealed record DrawnObject(SceneObject Object, SKColor Colour, SKPoint Centre, float Radius, float Angle, float[] Outline, int TextureSeed);

/// <summary>A scene ready to render: the graph and how each object is drawn.</summary>
/// <param name="Graph">The scene graph.</param>
/// <param name="Drawn">The drawing of each object, in drawing order (anatomy first, instruments on top).</param>
/// <param name="BackgroundSeed">Seed of the background details.</param>
public sealed record SceneLayout(SceneGraph Graph, IReadOnlyList<DrawnObject> Drawn, int BackgroundSeed);

/// <summary>Samples scene layouts: 2–5 anatomy regions of distinct classes in distinct cells, 0–2 instruments.</summary>
public static class SceneSampler
{
    /// <summary>Samples a scene.</summary>
    /// <param name="sceneId">Its id.</param>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="random">The random source (the only source of variation: same state, same scene).</param>
    /// <param name="required">Anatomy classes the scene must contain.</param>
    /// <param name="minAnatomies">Fewest anatomy regions (at least 2).</param>
    /// <param name="maxAnatomies">Most anatomy regions (at most 6).</param>
    /// <param name="maxInstruments">Most instruments (0–2).</param>
    /// <returns>The layout.</returns>
    public static SceneLayout Sample(string sceneId, int size, Random random, IReadOnlyCollection<string> required,
        int minAnatomies = 2, int maxAnatomies = 5, int maxInstruments = 2)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(required);
        int low = Math.Max(Math.Max(2, minAnatomies), required.Count);
        int count = random.Next(low, Math.Max(low, maxAnatomies) + 1);
        var classes = required.ToList();
        foreach (string c in AnatomyClasses.All.Where(c => !required.Contains(c)).OrderBy(_ => random.Next()).ToList())
        {
            if (classes.Count >= count)
            {
                break;
            }

            classes.Add(c);
        }

        var cells = GridCell.All.OrderBy(_ => random.Next()).ToList();
        float cell = size / 3f;
        var drawn = new List<DrawnObject>();
        var objects = new List<SceneObject>();
        for (int i = 0; i < classes.Count; i++)
        {
            var look = AnatomyAppearance.ByClass[classes[i]];
            var at = cells[i];
            var centre = new SKPoint(
                (at.Col + 0.5f + Jitter(random, 0.1f)) * cell,
                (at.Row + 0.5f + Jitter(random, 0.1f)) * cell);
            float radius = cell * (0.36f + (0.08f * (float)random.NextDouble()));
            float angle = (float)(random.NextDouble() * Math.PI);
            var outline = Enumerable.Range(0, 10).Select(_ => 0.86f + (0.24f * (float)random.NextDouble())).ToArray();
            float half = radius * MathF.Sqrt(look.Elongation);
            var box = new PixelBox(Math.Max(0, centre.X - half), Math.Max(0, centre.Y - half), Math.Min(size, centre.X + half), Math.Min(size, centre.Y + half));
            var obj = new SceneObject(i, ObjectKind.Anatomy, look.Class, look.ColourWord, at, box);
            objects.Add(obj);
            drawn.Add(new DrawnObject(obj, JitterColour(look.Base, look.Jitter, random), centre, radius, angle, outline, random.Next()));
        }

        int instruments = random.Next(0, Math.Clamp(maxInstruments, 0, 2) + 1);
        var kinds = InstrumentAppearance.All.OrderBy(_ => random.Next()).Take(instruments).ToList();
        var instrumentCells = GridCell.All.OrderBy(_ => random.Next()).Take(instruments).ToList();
        for (int k = 0; k < instruments; k++)
        {
            var look = kinds[k];
            var at = instrumentCells[k];
            var tip = new SKPoint((at.Col + 0.5f + Jitter(random, 0.12f)) * cell, (at.Row + 0.5f + Jitter(random, 0.12f)) * cell);
            var fromCentre = new SKPoint(tip.X - (size / 2f), tip.Y - (size / 2f));
            float angle = fromCentre.Length < 1f ? (float)(random.NextDouble() * 2 * Math.PI) : MathF.Atan2(fromCentre.Y, fromCentre.X);
            angle += Jitter(random, 0.5f);
            float jaw = cell * 0.32f;
            var box = new PixelBox(Math.Max(0, tip.X - jaw), Math.Max(0, tip.Y - jaw), Math.Min(size, tip.X + jaw), Math.Min(size, tip.Y + jaw));
            var obj = new SceneObject(objects.Count, ObjectKind.Instrument, look.Name, look.ColourWord, at, box);
            objects.Add(obj);
            drawn.Add(new DrawnObject(obj, JitterColour(look.Colour, 10, random), tip, jaw, angle, Array.Empty<float>(), random.Next()));
        }

        return new SceneLayout(new SceneGraph(sceneId, size, objects), drawn, random.Next());
    }

    private static float Jitter(Random random, float amplitude) => amplitude * ((2f * (float)random.NextDouble()) - 1f);

    private static SKColor JitterColour(SKColor c, int amount, Random random)
    {
        float brightness = 0.92f + (0.16f * (float)random.NextDouble());
        byte Channel(byte v) => (byte)Math.Clamp((int)MathF.Round((v * brightness) + random.Next(-amount, amount + 1)), 0, 255);
        return new SKColor(Channel(c.Red), Channel(c.Green), Channel(c.Blue));
    }
}
