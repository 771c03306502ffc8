using System.Text;

namespace AnatomyR1.Synthetic;

/// <summary>The head noun of a referring expression, which also fixes the kinds of object it can refer to.</summary>
public enum Noun
{
    /// <summary>"anatomy": anatomy regions only.</summary>
    Anatomy,

    /// <summary>"instrument": instruments only.</summary>
    Instrument,

    /// <summary>"thing": any object.</summary>
    Thing,

    /// <summary>"object": any object.</summary>
    Object,

    /// <summary>No noun after an instrument name ("the grasper"): instruments only.</summary>
    None,
}

/// <summary>
/// A referring expression such as "the red top-mid gut anatomy" or "the silver grasper": a noun plus optional class
/// (anatomy class or instrument name), colour and cell. It refers to every scene object that matches all of them.
/// </summary>
/// <param name="Noun">The head noun.</param>
/// <param name="Class">Anatomy class or instrument name, or null.</param>
/// <param name="Colour">Colour word, or null.</param>
/// <param name="Cell">Grid cell, or null.</param>
public sealed record ObjectDescription(Noun Noun, string? Class = null, string? Colour = null, GridCell? Cell = null)
{
    /// <summary>Whether an object fits the description.</summary>
    /// <param name="o">The object.</param>
    /// <returns>True when every given attribute matches.</returns>
    public bool Matches(SceneObject o)
    {
        bool kindOk = Noun switch
        {
            Noun.Anatomy => o.Kind == ObjectKind.Anatomy,
            Noun.Instrument or Noun.None => o.Kind == ObjectKind.Instrument,
            _ => true,
        };
        return kindOk && (Class is null || o.Class == Class) && (Colour is null || o.Colour == Colour) && (Cell is null || o.Cell == Cell);
    }

    /// <summary>The objects of a scene that fit.</summary>
    /// <param name="scene">The scene.</param>
    /// <returns>The matching objects.</returns>
    public IReadOnlyList<SceneObject> Resolve(SceneGraph scene) => scene.Objects.Where(Matches).ToList();

    /// <summary>The words after the article, e.g. <c>red top-mid gut anatomy</c>.</summary>
    /// <returns>The phrase.</returns>
    public string Phrase()
    {
        var text = new StringBuilder();
        void Word(string? w)
        {
            if (!string.IsNullOrEmpty(w))
            {
                text.Append(text.Length > 0 ? " " : string.Empty).Append(w);
            }
        }

        Word(Colour);
        Word(Cell?.Name);
        Word(Class is null ? null : (AnatomyClasses.All.Contains(Class) ? AnatomyClasses.SnakeCase(Class) : Class));
        Word(Noun switch
        {
            Noun.Anatomy => "anatomy",
            Noun.Instrument => "instrument",
            Noun.Thing => "thing",
            Noun.Object => "object",
            _ => null,
        });
        return text.ToString();
    }

    /// <summary>The phrase with "the".</summary>
    /// <returns>E.g. <c>the silver grasper</c>.</returns>
    public string WithThe() => "the " + Phrase();

    /// <summary>The phrase with "a" or "an".</summary>
    /// <returns>E.g. <c>an anatomy</c>.</returns>
    public string WithA()
    {
        string phrase = Phrase();
        return ("aeiou".Contains(phrase[0], StringComparison.Ordinal) ? "an " : "a ") + phrase;
    }
}
