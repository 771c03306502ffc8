using AnatomyR1.Data;
using AnatomyR1.Synthetic;

namespace AnatomyR1.Augmentation;

/// <summary>What a question rewriter sees of one row.</summary>
/// <param name="Sample">The row (question, options, correct index, image).</param>
/// <param name="Parsed">The question parsed with the SSG-VQA grammar, or null when it does not parse.</param>
/// <param name="Scene">The row's scene graph (synthetic scenes), or null.</param>
/// <param name="Random">The row's deterministic random source (derived from the seed, the sample id and the question).</param>
public sealed record QuestionRewriteContext(VqaSample Sample, ParsedQuestion? Parsed, SceneGraph? Scene, Random Random);

/// <summary>
/// A GDQA generator of question texts: each text must ask for the same correct option as the original (the rewriter
/// is responsible for that — the built-in scene-graph rewriter proves it on the scene graph). The augmenter keeps the
/// options, optionally gives each new form its own option order, and drops duplicates. Implement it to add your own
/// forms (<see cref="GroupDiversityOptions.Rewriters"/>).
/// </summary>
public interface IQuestionRewriter
{
    /// <summary>The name recorded in each variant's <see cref="QuestionVariant.Generator"/>.</summary>
    string Name { get; }

    /// <summary>
    /// Whether its forms come first, in the order given (true: references to the target through another route, which
    /// can change what the model must perceive), or are pooled with the other rewordings and shuffled (false).
    /// </summary>
    bool Preferred { get; }

    /// <summary>Answer-preserving rewrites of the row's question (none when it does not apply).</summary>
    /// <param name="context">The row.</param>
    /// <returns>Question texts.</returns>
    IEnumerable<string> Rewrite(QuestionRewriteContext context);
}

/// <summary>Built-in rewriter: the same target through another referring expression of the scene graph (synthetic scenes), each proven on the graph.</summary>
public sealed class SceneGraphReferenceRewriter : IQuestionRewriter
{
    /// <inheritdoc />
    public string Name => "scene-graph";

    /// <inheritdoc />
    public bool Preferred => true;

    /// <inheritdoc />
    public IEnumerable<string> Rewrite(QuestionRewriteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var texts = new List<string>();
        var sample = context.Sample;
        if (context.Scene is not { } scene)
        {
            return texts;
        }

        string answer = sample.Options[sample.CorrectIndex];
        var targets = scene.Anatomies.Where(o => o.Class == answer).ToList();
        if (targets.Count != 1)
        {
            return texts;
        }

        // Families other than the original's first: a different referring expression is what can change the outcome.
        var own = QuestionFamilyClassifier.Classify(sample.Question);
        var families = QuestionGenerator.Families.OrderBy(f => f == own ? 1 : 0).ThenBy(_ => context.Random.Next()).ToList();
        foreach (var family in families.Concat(families))
        {
            var spec = QuestionGenerator.TryBuild(family, scene, targets[0], context.Random);
            if (spec is not null && SceneQuestionChecker.Check(scene, spec, sample.Options, sample.CorrectIndex, out _) && !texts.Contains(spec.Text()))
            {
                texts.Add(spec.Text());
            }
        }

        return texts;
    }
}

/// <summary>Built-in rewriter: the parsed question rendered with every template of its shape (SSG-VQA's rule-based forms).</summary>
public sealed class TemplateRephraseRewriter : IQuestionRewriter
{
    /// <inheritdoc />
    public string Name => "rephrase";

    /// <inheritdoc />
    public bool Preferred => false;

    /// <inheritdoc />
    public IEnumerable<string> Rewrite(QuestionRewriteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Parsed is not { } parsed)
        {
            yield break;
        }

        for (int t = 0; t < QuestionTemplates.Count(parsed.Shape, parsed.Relations.Count); t++)
        {
            yield return QuestionTemplates.Render(parsed, t);
        }
    }
}

/// <summary>Built-in rewriter: equivalent wordings of a relation ("left of" ↔ "to the left of" ↔ "on the left side of").</summary>
public sealed class RelationSynonymRewriter : IQuestionRewriter
{
    private static readonly string[][] SynonymSets =
    {
        new[] { "left of", "to the left of", "on the left side of" },
        new[] { "right of", "to the right of", "on the right side of" },
    };

    /// <inheritdoc />
    public string Name => "relation-synonym";

    /// <inheritdoc />
    public bool Preferred => false;

    /// <inheritdoc />
    public IEnumerable<string> Rewrite(QuestionRewriteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Parsed is not { } parsed)
        {
            yield break;
        }

        int template = Math.Max(0, parsed.Template);
        for (int r = 0; r < parsed.Relations.Count; r++)
        {
            var set = SynonymSets.FirstOrDefault(s => s.Contains(parsed.Relations[r].Phrase));
            if (set is null)
            {
                continue;
            }

            foreach (string synonym in set.Where(s => s != parsed.Relations[r].Phrase))
            {
                var relations = parsed.Relations.ToArray();
                relations[r] = relations[r] with { Phrase = synonym };
                yield return QuestionTemplates.Render(parsed with { Relations = relations }, Math.Min(template, QuestionTemplates.Count(parsed.Shape, relations.Length) - 1));
            }
        }
    }
}
