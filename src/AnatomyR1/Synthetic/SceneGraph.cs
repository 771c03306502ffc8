namespace AnatomyR1.Synthetic;

/// <summary>A synthetic scene: its objects and, derived from their cells, the relations between them.</summary>
public sealed class SceneGraph
{
    /// <summary>Creates a scene graph.</summary>
    /// <param name="sceneId">The scene id (e.g. <c>scene-000042</c>).</param>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="objects">The objects; ids must equal their indices.</param>
    public SceneGraph(string sceneId, int size, IReadOnlyList<SceneObject> objects)
    {
        for (int i = 0; i < objects.Count; i++)
        {
            if (objects[i].Id != i)
            {
                throw new ArgumentException($"Object {i} has id {objects[i].Id}; ids must equal indices.", nameof(objects));
            }
        }

        SceneId = sceneId;
        Size = size;
        Objects = objects;
    }

    /// <summary>The scene id.</summary>
    public string SceneId { get; }

    /// <summary>Image side in pixels.</summary>
    public int Size { get; }

    /// <summary>The objects, anatomy regions first.</summary>
    public IReadOnlyList<SceneObject> Objects { get; }

    /// <summary>The anatomy regions.</summary>
    public IEnumerable<SceneObject> Anatomies => Objects.Where(o => o.Kind == ObjectKind.Anatomy);

    /// <summary>The instruments.</summary>
    public IEnumerable<SceneObject> Instruments => Objects.Where(o => o.Kind == ObjectKind.Instrument);

    /// <summary>Every relation that holds, as (subject, relation, reference) triples.</summary>
    /// <returns>The triples.</returns>
    public IEnumerable<(SceneObject Subject, SpatialRelation Relation, SceneObject Reference)> Relations()
    {
        foreach (var a in Objects)
        {
            foreach (var b in Objects)
            {
                foreach (var relation in Enum.GetValues<SpatialRelation>())
                {
                    if (SpatialRelations.Holds(a, relation, b))
                    {
                        yield return (a, relation, b);
                    }
                }
            }
        }
    }
}
