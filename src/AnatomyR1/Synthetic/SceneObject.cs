namespace AnatomyR1.Synthetic;

/// <summary>Whether a scene object is an anatomy region or an instrument.</summary>
public enum ObjectKind
{
    /// <summary>An anatomy region.</summary>
    Anatomy,

    /// <summary>A surgical instrument.</summary>
    Instrument,
}

/// <summary>An axis-aligned box in pixels.</summary>
/// <param name="Left">Left edge.</param>
/// <param name="Top">Top edge.</param>
/// <param name="Right">Right edge.</param>
/// <param name="Bottom">Bottom edge.</param>
public readonly record struct PixelBox(float Left, float Top, float Right, float Bottom);

/// <summary>One object of a synthetic scene.</summary>
/// <param name="Id">Index in the scene.</param>
/// <param name="Kind">Anatomy or instrument.</param>
/// <param name="Class">Anatomy class (e.g. <c>Liver</c>) or instrument name (e.g. <c>grasper</c>).</param>
/// <param name="Colour">The colour word used in questions (e.g. <c>brown</c>, <c>silver</c>).</param>
/// <param name="Cell">Its grid cell (an instrument's is where its tip is).</param>
/// <param name="Bounds">Its bounding box in pixels.</param>
public sealed record SceneObject(int Id, ObjectKind Kind, string Class, string Colour, GridCell Cell, PixelBox Bounds);
