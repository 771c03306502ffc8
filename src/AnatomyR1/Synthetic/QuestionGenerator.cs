using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>
/// Builds questions of a family about a chosen target anatomy on a scene: picks references, relations and
/// attributes at random among those that make every referring expression unique, so that the question has exactly
/// one answer. Returns null when the scene cannot support the family for that target.
/// </summary>
public static class QuestionGenerator
{
    /// <summary>The five generated families.</summary>
    public static IReadOnlyList<QuestionFamily> Families { get; } = new[]
    {
        QuestionFamily.Positional, QuestionFamily.Attribute, QuestionFamily.OneHop, QuestionFamily.TwoHop, QuestionFamily.Rephrased,
    };

    /// <summary>Tries to build a question.</summary>
    /// <param name="family">The family.</param>
    /// <param name="scene">The scene.</param>
    /// <param name="target">The anatomy region the question must be about.</param>
    /// <param name="random">The random source.</param>
    /// <param name="colourAllowed">Whether the target may be described by a given colour word; null allows any.</param>
    /// <returns>The question, or null when the scene cannot support it.</returns>
    public static QuestionSpec? TryBuild(QuestionFamily family, SceneGraph scene, SceneObject target, Random random, Func<string, bool>? colourAllowed = null)
    {
        colourAllowed ??= _ => true;
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(random);
        int phrasing = random.Next(QuestionSpec.PhrasingCount);
        switch (family)
        {
            case QuestionFamily.Positional:
                return new QuestionSpec(family, new ObjectDescription(Noun.Anatomy, Cell: target.Cell), Array.Empty<RelationConstraint>(), phrasing);

            case QuestionFamily.Attribute:
            {
                var choices = new[]
                {
                    new ObjectDescription(Noun.Anatomy, Colour: target.Colour, Cell: target.Cell),
                    new ObjectDescription(Noun.Anatomy, Colour: target.Colour),
                    new ObjectDescription(Noun.Anatomy, Cell: target.Cell),
                };
                var unique = choices.Where(d => (d.Colour is null || colourAllowed(d.Colour)) && d.Resolve(scene).Count == 1).ToList();
                if (unique.Count == 0)
                {
                    return null;
                }

                // Colour and position together is the common SSG-VQA form; keep it most of the time.
                var pick = random.NextDouble() < 0.6 ? unique[0] : unique[random.Next(unique.Count)];
                return new QuestionSpec(family, pick, Array.Empty<RelationConstraint>(), phrasing);
            }

            case QuestionFamily.OneHop:
            case QuestionFamily.Rephrased:
                return TryRelational(family, scene, target, random, 1, phrasing, colourAllowed);

            case QuestionFamily.TwoHop:
                return TryRelational(family, scene, target, random, 2, phrasing, colourAllowed);

            default:
                throw new ArgumentOutOfRangeException(nameof(family), family, "Only the five SSG-VQA families are generated.");
        }
    }

    private static QuestionSpec? TryRelational(QuestionFamily family, SceneGraph scene, SceneObject target, Random random, int hops, int phrasing, Func<string, bool> colourAllowed)
    {
        // Every (relation, reference) the target satisfies, with the unique ways to describe the reference.
        var facts = new List<(SpatialRelation Relation, SceneObject Reference, List<ObjectDescription> Descriptions)>();
        foreach (var reference in scene.Objects.Where(o => o.Id != target.Id))
        {
            var descriptions = UniqueDescriptions(scene, reference);
            if (descriptions.Count == 0)
            {
                continue;
            }

            foreach (var relation in Enum.GetValues<SpatialRelation>())
            {
                if (SpatialRelations.Holds(target, relation, reference))
                {
                    facts.Add((relation, reference, descriptions));
                }
            }
        }

        if (facts.Count < hops)
        {
            return null;
        }

        for (int attempt = 0; attempt < 24; attempt++)
        {
            var chosen = facts.OrderBy(_ => random.Next()).Take(hops).ToList();
            if (hops == 2 && chosen[0].Reference.Id == chosen[1].Reference.Id)
            {
                continue;
            }

            var constraints = chosen.Select(f => new RelationConstraint(
                f.Relation, f.Descriptions[random.Next(f.Descriptions.Count)], random.Next(SpatialRelations.PhrasesOf(f.Relation).Count))).ToList();

            // Start from the plainest target ("anatomy" or "thing") and add attributes until one object fits.
            var noun = random.NextDouble() < 0.7 ? Noun.Anatomy : (random.NextDouble() < 0.5 ? Noun.Thing : Noun.Object);
            var targets = new List<ObjectDescription>
            {
                new(noun),
                new(noun, Colour: target.Colour),
                new(noun, Cell: target.Cell),
                new(noun, Colour: target.Colour, Cell: target.Cell),
            };
            foreach (var description in targets.Where(d => d.Colour is null || colourAllowed(d.Colour)))
            {
                var spec = new QuestionSpec(family, description, constraints, phrasing);
                var fits = spec.Resolve(scene, out string? problem);
                if (problem is null && fits.Count == 1 && fits[0].Id == target.Id)
                {
                    // Two-hop questions where one relation alone already decides are kept only sometimes.
                    if (hops == 2 && constraints.Any(c => new QuestionSpec(family, description, new[] { c }, phrasing).Resolve(scene, out _).Count == 1)
                        && random.NextDouble() < 0.7)
                    {
                        break;
                    }

                    return spec;
                }
            }
        }

        return null;
    }

    /// <summary>The descriptions of <paramref name="o"/> that denote it alone in the scene.</summary>
    private static List<ObjectDescription> UniqueDescriptions(SceneGraph scene, SceneObject o)
    {
        var candidates = o.Kind == ObjectKind.Instrument
            ? new List<ObjectDescription>
            {
                new(Noun.None, o.Class),
                new(Noun.Instrument, o.Class),
                new(Noun.Object, o.Class, o.Colour),
                new(Noun.Thing, o.Class, Cell: o.Cell),
                new(Noun.None, o.Class, o.Colour, o.Cell),
                new(Noun.Instrument, Colour: o.Colour),
                new(Noun.Instrument, Cell: o.Cell),
            }
            : new List<ObjectDescription>
            {
                new(Noun.Anatomy, o.Class),
                new(Noun.Thing, o.Class),
                new(Noun.Anatomy, o.Class, o.Colour),
                new(Noun.Anatomy, o.Class, Cell: o.Cell),
                new(Noun.Anatomy, Colour: o.Colour, Cell: o.Cell),
                new(Noun.Anatomy, Cell: o.Cell),
                new(Noun.Thing, Colour: o.Colour, Cell: o.Cell),
            };
        return candidates.Where(d => d.Resolve(scene).Count == 1).ToList();
    }
}
