using SkiaSharp;

namespace AnatomyR1.Synthetic;

/// <summary>Surface pattern drawn inside an anatomy region.</summary>
public enum Texture
{
    /// <summary>Smooth with a specular highlight (liver, cystic plate, gallbladder).</summary>
    Smooth,

    /// <summary>Parallel fibres (abdominal wall).</summary>
    Striated,

    /// <summary>Curved bowel loops (gut).</summary>
    Looped,

    /// <summary>Fat lobules (omentum).</summary>
    Lobulated,
}

/// <summary>How one anatomy class is drawn: base colour and per-instance jitter, texture, shape and colour word.</summary>
/// <param name="Class">The class.</param>
/// <param name="Base">Base RGB colour.</param>
/// <param name="Jitter">Maximum per-channel colour jitter.</param>
/// <param name="Texture">Surface pattern.</param>
/// <param name="Elongation">Length/width ratio of the blob (1 = round).</param>
/// <param name="ColourWord">The colour word used in questions.</param>
public sealed record AnatomyAppearance(string Class, SKColor Base, int Jitter, Texture Texture, float Elongation, string ColourWord)
{
    /// <summary>
    /// The six looks. Liver and Cystic Plate share colour range and smoothness (Cystic Plate is a narrower strip);
    /// Gallbladder and Abdominal Wall Cavity are both pale (smooth vs fibrous); Gut is pink-red with loops; Omentum is
    /// yellow and lobulated. Colour words follow SSG-VQA: several classes share "red" and "white".
    /// </summary>
    public static IReadOnlyDictionary<string, AnatomyAppearance> ByClass { get; } = new Dictionary<string, AnatomyAppearance>
    {
        [AnatomyClasses.Liver] = new(AnatomyClasses.Liver, new SKColor(122, 46, 36), 16, Texture.Smooth, 1.15f, "brown"),
        [AnatomyClasses.CysticPlate] = new(AnatomyClasses.CysticPlate, new SKColor(138, 52, 42), 16, Texture.Smooth, 1.9f, "red"),
        [AnatomyClasses.Gut] = new(AnatomyClasses.Gut, new SKColor(188, 84, 86), 16, Texture.Looped, 1.3f, "red"),
        [AnatomyClasses.Gallbladder] = new(AnatomyClasses.Gallbladder, new SKColor(196, 204, 168), 14, Texture.Smooth, 1.45f, "white"),
        [AnatomyClasses.AbdominalWallCavity] = new(AnatomyClasses.AbdominalWallCavity, new SKColor(214, 186, 176), 14, Texture.Striated, 1.2f, "white"),
        [AnatomyClasses.Omentum] = new(AnatomyClasses.Omentum, new SKColor(226, 188, 82), 14, Texture.Lobulated, 1.1f, "yellow"),
    };
}

/// <summary>How an instrument is drawn and named.</summary>
/// <param name="Name">The name used in questions.</param>
/// <param name="ColourWord">Its colour word.</param>
/// <param name="Colour">Its drawing colour.</param>
public sealed record InstrumentAppearance(string Name, string ColourWord, SKColor Colour)
{
    /// <summary>The seven instruments of the SSG-VQA vocabulary.</summary>
    public static IReadOnlyList<InstrumentAppearance> All { get; } = new InstrumentAppearance[]
    {
        new("grasper", "silver", new SKColor(176, 180, 186)),
        new("hook", "white", new SKColor(226, 228, 230)),
        new("scissors", "silver", new SKColor(168, 172, 178)),
        new("clipper", "silver", new SKColor(184, 186, 190)),
        new("irrigator", "silver", new SKColor(160, 166, 172)),
        new("bipolar", "blue", new SKColor(70, 110, 190)),
        new("specimen bag", "white", new SKColor(214, 220, 224)),
    };

    /// <summary>Looks an instrument up by name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>Its appearance.</returns>
    public static InstrumentAppearance Of(string name) => All.First(a => a.Name == name);
}
