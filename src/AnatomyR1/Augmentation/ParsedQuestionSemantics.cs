using AnatomyR1.Data;
using AnatomyR1.Synthetic;

namespace AnatomyR1.Augmentation;

/// <summary>
/// Reads a parsed question as a structured question over a synthetic scene (<see cref="QuestionSpec"/>), so that any
/// question text — an original or a variant — can be evaluated on the scene graph. This is how variants are proven
/// to keep their answer on synthetic data.
/// </summary>
public static class ParsedQuestionSemantics
{
    private static readonly Dictionary<string, SpatialRelation> Relations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["left of"] = SpatialRelation.LeftOf, ["to the left of"] = SpatialRelation.LeftOf, ["on the left side of"] = SpatialRelation.LeftOf,
        ["right of"] = SpatialRelation.RightOf, ["to the right of"] = SpatialRelation.RightOf, ["on the right side of"] = SpatialRelation.RightOf,
        ["above"] = SpatialRelation.Above, ["below"] = SpatialRelation.Below, ["within"] = SpatialRelation.Within,
    };

    /// <summary>The relation a phrase names, or null (e.g. SSG-VQA's "vertical", which scenes do not model).</summary>
    /// <param name="phrase">The relation words.</param>
    /// <returns>The relation.</returns>
    public static SpatialRelation? RelationOf(string phrase) => Relations.TryGetValue(phrase, out var r) ? r : null;

    /// <summary>Reads an object phrase such as <c>red top-mid gut anatomy</c> or <c>silver grasper</c>.</summary>
    /// <param name="phrase">The phrase without its article.</param>
    /// <returns>The description, or null when a word is not a colour, cell, class or noun in that order.</returns>
    public static ObjectDescription? Describe(string phrase)
    {
        ArgumentNullException.ThrowIfNull(phrase);
        var words = phrase.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (words.Count == 0)
        {
            return null;
        }

        Noun noun = words[^1] switch
        {
            "anatomy" => Noun.Anatomy,
            "instrument" => Noun.Instrument,
            "thing" => Noun.Thing,
            "object" => Noun.Object,
            _ => Noun.None,
        };
        if (noun != Noun.None)
        {
            words.RemoveAt(words.Count - 1);
        }

        string? colour = null, cellName = null, cls = null;
        int i = 0;
        if (i < words.Count && Colours.Contains(words[i]))
        {
            colour = words[i++];
        }

        if (i < words.Count && GridCell.All.Any(c => c.Name == words[i]))
        {
            cellName = words[i++];
        }

        if (i < words.Count)
        {
            string rest = string.Join(" ", words.Skip(i));
            cls = AnatomyClasses.All.FirstOrDefault(c => AnatomyClasses.SnakeCase(c) == rest)
                ?? InstrumentAppearance.All.Select(a => a.Name).FirstOrDefault(n => n == rest);
            if (cls is null)
            {
                return null;
            }
        }

        if (noun == Noun.None && (cls is null || AnatomyClasses.All.Contains(cls)))
        {
            return null;
        }

        GridCell? cell = cellName is null ? null : GridCell.All.First(c => c.Name == cellName);
        return new ObjectDescription(noun, cls, colour, cell);
    }

    /// <summary>The parsed question as a structured question, or null when a phrase or relation cannot be read.</summary>
    /// <param name="parsed">The parsed question.</param>
    /// <returns>The structured question.</returns>
    public static QuestionSpec? ToSpec(ParsedQuestion parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        if (parsed.Shape == QuestionShape.Positional)
        {
            var cell = GridCell.All.Where(c => c.Name == parsed.Cell).Select(c => (GridCell?)c).FirstOrDefault();
            var noun = Describe(parsed.Target)?.Noun;
            return cell is null || noun is null ? null : new QuestionSpec(QuestionFamily.Positional, new ObjectDescription(noun.Value, Cell: cell), Array.Empty<RelationConstraint>());
        }

        var target = Describe(parsed.Target);
        if (target is null)
        {
            return null;
        }

        var constraints = new List<RelationConstraint>();
        foreach (var r in parsed.Relations)
        {
            var relation = RelationOf(r.Phrase);
            var reference = Describe(r.Reference);
            if (relation is null || reference is null)
            {
                return null;
            }

            constraints.Add(new RelationConstraint(relation.Value, reference));
        }

        var family = parsed.Shape == QuestionShape.Attribute ? QuestionFamily.Attribute : constraints.Count >= 2 ? QuestionFamily.TwoHop : QuestionFamily.OneHop;
        return new QuestionSpec(family, target, constraints);
    }

    private static readonly HashSet<string> Colours = new(
        AnatomyAppearance.ByClass.Values.Select(a => a.ColourWord).Concat(InstrumentAppearance.All.Select(a => a.ColourWord)), StringComparer.Ordinal);
}
