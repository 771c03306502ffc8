namespace AnatomyR1.Synthetic;

/// <summary>The six anatomy classes of the SSG-VQA multiple-choice questions, in display form.</summary>
public static class AnatomyClasses
{
    /// <summary>Abdominal Wall Cavity.</summary>
    public const string AbdominalWallCavity = "Abdominal Wall Cavity";

    /// <summary>Cystic Plate.</summary>
    public const string CysticPlate = "Cystic Plate";

    /// <summary>Gallbladder.</summary>
    public const string Gallbladder = "Gallbladder";

    /// <summary>Gut.</summary>
    public const string Gut = "Gut";

    /// <summary>Liver.</summary>
    public const string Liver = "Liver";

    /// <summary>Omentum.</summary>
    public const string Omentum = "Omentum";

    /// <summary>All six, in alphabetical order (the index used by <see cref="VisualSimilarity"/>).</summary>
    public static IReadOnlyList<string> All { get; } = new[] { AbdominalWallCavity, CysticPlate, Gallbladder, Gut, Liver, Omentum };

    /// <summary>Index of a class in <see cref="All"/>.</summary>
    /// <param name="name">The class name.</param>
    /// <returns>Its index.</returns>
    /// <exception cref="ArgumentException">Not one of the six.</exception>
    public static int IndexOf(string name)
    {
        for (int i = 0; i < All.Count; i++)
        {
            if (All[i] == name)
            {
                return i;
            }
        }

        throw new ArgumentException($"'{name}' is not one of the six anatomy classes ({string.Join(", ", All)}).", nameof(name));
    }

    /// <summary>The snake_case form used inside SSG-VQA questions (e.g. <c>cystic_plate</c>).</summary>
    /// <param name="name">The class name.</param>
    /// <returns>The snake_case form.</returns>
    public static string SnakeCase(string name) => name.ToLowerInvariant().Replace(' ', '_');

    /// <summary>The lower-case words used in reasoning traces (e.g. <c>cystic plate</c>).</summary>
    /// <param name="name">The class name.</param>
    /// <returns>The lower-case form.</returns>
    public static string Words(string name) => name.ToLowerInvariant();
}
