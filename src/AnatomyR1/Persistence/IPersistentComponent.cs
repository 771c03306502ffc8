namespace AnatomyR1.Persistence;

/// <summary>
/// A component (a transformer, a similarity measure …) that saves itself into a folder so that
/// <see cref="AnatomyR1Model"/> can store it inside a pipeline. ML.NET's own save path cannot carry third-party
/// fitted state (its save context's writer is internal), so AnatomyR1 components use this one.
/// </summary>
/// <remarks>
/// The implementing type must also declare <c>public static TSelf LoadComponent(ComponentLoadContext context)</c>;
/// <see cref="ComponentStore"/> finds it by reflection from the type name written next to the saved files. A type
/// without it is refused at save time, so a folder that was written can always be read back.
/// </remarks>
public interface IPersistentComponent
{
    /// <summary>Writes the component's files into <paramref name="folder"/> (an existing, empty folder).</summary>
    /// <param name="folder">The folder.</param>
    void SaveComponent(string folder);
}
