using Xunit;

namespace AnatomyR1.Testing;

/// <summary>
/// A fact that needs the published Anatomy-R1 records. When they are nowhere to be found (see
/// <see cref="SharedDataLocator"/>) the test is reported as skipped with the reason, never as passed.
/// </summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SharedDataFactAttribute()
    {
        if (SharedDataLocator.TryFind() is null)
        {
            Skip = SharedDataTheoryAttribute.Reason;
        }
    }
}

/// <summary>A theory that needs the published Anatomy-R1 records (skipped with the reason when they are absent).</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    /// <summary>The skip reason.</summary>
    public const string Reason = "The published records (shared/data/anatomy-r1 beside the repository, or ANATOMYR1_SHARED_DATA) are not present.";

    /// <summary>Creates the attribute.</summary>
    public SharedDataTheoryAttribute()
    {
        if (SharedDataLocator.TryFind() is null)
        {
            Skip = Reason;
        }
    }
}
