namespace AnatomyR1.Synthetic;

/// <summary>
/// Relations between scene objects, decided on grid cells: <see cref="LeftOf"/>/<see cref="RightOf"/> compare columns,
/// <see cref="Above"/>/<see cref="Below"/> compare rows, <see cref="Within"/> means the two objects share a cell (an
/// instrument touching an anatomy region; two anatomy regions never share a cell).
/// </summary>
public enum SpatialRelation
{
    /// <summary>Subject column &lt; object column.</summary>
    LeftOf,

    /// <summary>Subject column &gt; object column.</summary>
    RightOf,

    /// <summary>Subject row &lt; object row.</summary>
    Above,

    /// <summary>Subject row &gt; object row.</summary>
    Below,

    /// <summary>Same cell, different objects.</summary>
    Within,
}

/// <summary>Evaluation and wording of <see cref="SpatialRelation"/>.</summary>
public static class SpatialRelations
{
    private static readonly string[][] Phrases =
    {
        new[] { "left of", "to the left of", "on the left side of" },
        new[] { "right of", "to the right of", "on the right side of" },
        new[] { "above" },
        new[] { "below" },
        new[] { "within" },
    };

    /// <summary>Whether "<paramref name="subject"/> <paramref name="relation"/> <paramref name="reference"/>" holds.</summary>
    /// <param name="subject">The subject.</param>
    /// <param name="relation">The relation.</param>
    /// <param name="reference">The reference object.</param>
    /// <returns>True when it holds.</returns>
    public static bool Holds(SceneObject subject, SpatialRelation relation, SceneObject reference) =>
        subject.Id != reference.Id && relation switch
        {
            SpatialRelation.LeftOf => subject.Cell.Col < reference.Cell.Col,
            SpatialRelation.RightOf => subject.Cell.Col > reference.Cell.Col,
            SpatialRelation.Above => subject.Cell.Row < reference.Cell.Row,
            SpatialRelation.Below => subject.Cell.Row > reference.Cell.Row,
            SpatialRelation.Within => subject.Cell == reference.Cell,
            _ => false,
        };

    /// <summary>The ways a relation is worded in questions (SSG-VQA style).</summary>
    /// <param name="relation">The relation.</param>
    /// <returns>The phrasings.</returns>
    public static IReadOnlyList<string> PhrasesOf(SpatialRelation relation) => Phrases[(int)relation];
}
