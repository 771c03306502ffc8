using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>One relation a question's target must satisfy, e.g. "above the grasper".</summary>
/// <param name="Relation">The relation (target relation reference).</param>
/// <param name="Reference">The reference object's description; it must denote exactly one object.</param>
/// <param name="Phrasing">Which wording of the relation is used (index into <see cref="SpatialRelations.PhrasesOf"/>).</param>
public sealed record RelationConstraint(SpatialRelation Relation, ObjectDescription Reference, int Phrasing = 0)
{
    /// <summary>E.g. <c>to the left of the silver grasper</c>.</summary>
    /// <returns>The words.</returns>
    public string Words() => SpatialRelations.PhrasesOf(Relation)[Phrasing] + " " + Reference.WithThe();
}

/// <summary>
/// A question as structure: the target description, the relations it must satisfy, the family and the wording.
/// <see cref="Text"/> renders it; <see cref="Resolve"/> evaluates it on a scene graph, which is how the checker
/// proves the answer.
/// </summary>
/// <param name="Family">Positional, Attribute, OneHop, TwoHop or Rephrased.</param>
/// <param name="Target">What the answer is (its noun and any colour or cell).</param>
/// <param name="Constraints">0 (positional, attribute), 1 (one-hop, rephrased) or 2 (two-hop) relations.</param>
/// <param name="Phrasing">Which sentence template of the family is used.</param>
public sealed record QuestionSpec(QuestionFamily Family, ObjectDescription Target, IReadOnlyList<RelationConstraint> Constraints, int Phrasing = 0)
{
    /// <summary>Number of sentence templates per family.</summary>
    public const int PhrasingCount = 3;

    /// <summary>The question text.</summary>
    /// <returns>The question in SSG-VQA style.</returns>
    public string Text()
    {
        string target = Target.Phrase();
        return Family switch
        {
            QuestionFamily.Positional => $"What anatomy is at the {Target.Cell!.Value.Name} of the frame ?",
            QuestionFamily.Attribute => $"What is the {target}?",
            QuestionFamily.OneHop => Phrasing switch
            {
                0 => $"What is the name of the {target} {Constraints[0].Words()}?",
                1 => $"What is the name of the {target} that is {Constraints[0].Words()}?",
                _ => $"What name is the {target} that is {Constraints[0].Words()}?",
            },
            QuestionFamily.TwoHop => Phrasing switch
            {
                0 => $"What is the name of the {target} that is {Constraints[0].Words()} and {Constraints[1].Words()}?",
                1 => $"What name is the {target} that is both {Constraints[0].Words()} and {Constraints[1].Words()}?",
                _ => $"What is the name of the {target} that is both {Constraints[0].Words()} and {Constraints[1].Words()}?",
            },
            QuestionFamily.Rephrased => $"There is {Target.WithA()} {Constraints[0].Words()}; " + Phrasing switch
            {
                0 => "what is it?",
                1 => "what name is it?",
                _ => "what is its name?",
            },
            _ => throw new InvalidOperationException($"Family {Family} is not generated."),
        };
    }

    /// <summary>
    /// Evaluates the question on a scene: the objects that fit the target and every relation. A reference that does
    /// not denote exactly one object makes the question ill-posed; <paramref name="problem"/> then says which.
    /// </summary>
    /// <param name="scene">The scene.</param>
    /// <param name="problem">Why the question is ill-posed, or null.</param>
    /// <returns>The candidate answers (exactly one for a well-posed question).</returns>
    public IReadOnlyList<SceneObject> Resolve(SceneGraph scene, out string? problem)
    {
        problem = null;
        var references = new List<SceneObject>();
        foreach (var constraint in Constraints)
        {
            var matches = constraint.Reference.Resolve(scene);
            if (matches.Count != 1)
            {
                problem = $"'{constraint.Reference.WithThe()}' denotes {matches.Count} objects";
                return Array.Empty<SceneObject>();
            }

            references.Add(matches[0]);
        }

        return scene.Objects.Where(o => Target.Matches(o)
            && Constraints.Select((c, i) => SpatialRelations.Holds(o, c.Relation, references[i])).All(x => x)).ToList();
    }
}
