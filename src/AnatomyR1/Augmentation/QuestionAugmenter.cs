using AnatomyR1.Data;
using AnatomyR1.Synthetic;

namespace AnatomyR1.Augmentation;

/// <summary>What the augmenter made of one row.</summary>
/// <param name="Status">What was done.</param>
/// <param name="Variants">The question forms, the original first; just the original when the row was not augmented.</param>
/// <param name="Parsed">The parsed question, or null when it did not parse.</param>
public sealed record AugmentationResult(AugmentationStatus Status, IReadOnlyList<QuestionVariant> Variants, ParsedQuestion? Parsed);

/// <summary>
/// Group Diversity Question Augmentation for one row: builds up to K answer-preserving forms of a difficult question
/// (the original first). Generators, in priority order: scene-graph references (synthetic scenes: the same target
/// through another referring expression, proven on the graph), template rephrasings of the parsed question, and
/// relation synonyms; option permutation then gives every new form its own option order and fills the remaining
/// slots. A question that does not parse (and has no scene graph) is left alone with status
/// <see cref="AugmentationStatus.Unparsed"/>. Deterministic: the draws depend on the seed, the sample id and the
/// question only. Thread-safe.
/// </summary>
public sealed class QuestionAugmenter
{
    private static readonly string[][] RelationSynonymSets =
    {
        new[] { "left of", "to the left of", "on the left side of" },
        new[] { "right of", "to the right of", "on the right side of" },
    };

    private readonly GroupDiversityOptions _options;
    private readonly SceneGraphFiles _scenes = new();

    /// <summary>Creates the augmenter.</summary>
    /// <param name="options">Options (validated and copied).</param>
    public QuestionAugmenter(GroupDiversityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
    }

    /// <summary>The options in use.</summary>
    public GroupDiversityOptions Options => _options.Clone();

    /// <summary>Builds the variants of a row, whatever its difficulty.</summary>
    /// <param name="sample">The row.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">The row's scene graph file is damaged.</exception>
    public AugmentationResult Augment(VqaSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var original = new QuestionVariant(sample.Question, sample.Options, sample.CorrectIndex, "original");
        if (!sample.IsMultipleChoice || sample.CorrectIndex >= sample.Options.Length)
        {
            return new AugmentationResult(AugmentationStatus.NotMultipleChoice, new[] { original }, null);
        }

        var random = new Random(SeedMixer.Mix(_options.Seed, StableHash(sample.SampleId + "\n" + sample.Question), 0));
        var parsed = SsgQuestionParser.Parse(sample.Question);
        var rewrites = new List<(string Text, string Generator)>();
        bool fromScene = false;
        if (_options.SceneGraphReferences && _scenes.For(sample.ImagePath) is { } scene)
        {
            var found = SceneReferences(scene, sample, random);
            fromScene = found.Count > 0;
            rewrites.AddRange(found.Select(t => (t, "scene-graph")));
        }

        if (parsed is null && !fromScene)
        {
            return new AugmentationResult(AugmentationStatus.Unparsed, new[] { original }, null);
        }

        if (parsed is not null)
        {
            var textual = new List<(string, string)>();
            if (_options.Rephrase)
            {
                for (int t = 0; t < QuestionTemplates.Count(parsed.Shape, parsed.Relations.Count); t++)
                {
                    textual.Add((QuestionTemplates.Render(parsed, t), "rephrase"));
                }
            }

            if (_options.RelationSynonyms)
            {
                textual.AddRange(Synonyms(parsed).Select(t => (t, "relation-synonym")));
            }

            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(textual));
            rewrites.AddRange(textual);
        }

        int k = _options.VariantCount;
        string originalText = Normalize(sample.Question);
        var variants = new List<QuestionVariant> { original };
        var seen = new HashSet<string>(StringComparer.Ordinal) { Key(original) };
        foreach (var (text, generator) in rewrites)
        {
            if (variants.Count >= k)
            {
                break;
            }

            var candidate = _options.PermuteOptions ? Permuted(text, sample, random, generator + "+permute") : new QuestionVariant(text, sample.Options, sample.CorrectIndex, generator);
            if (!string.Equals(Normalize(text), originalText, StringComparison.Ordinal) && seen.Add(Key(candidate)))
            {
                variants.Add(candidate);
            }
        }

        for (int attempt = 0; _options.PermuteOptions && variants.Count < k && attempt < 8 * k; attempt++)
        {
            var candidate = Permuted(sample.Question, sample, random, "permute");
            if (seen.Add(Key(candidate)))
            {
                variants.Add(candidate);
            }
        }

        return new AugmentationResult(variants.Count > 1 ? AugmentationStatus.Augmented : AugmentationStatus.NoVariants, variants, parsed);
    }

    /// <summary>A new option order (a non-identity permutation when there are at least 2 options) with the correct index remapped.</summary>
    /// <param name="options">The options.</param>
    /// <param name="correctIndex">The correct option's index.</param>
    /// <param name="random">The random source.</param>
    /// <returns>The reordered options and the correct option's new index.</returns>
    public static (string[] Options, int CorrectIndex) Permute(IReadOnlyList<string> options, int correctIndex, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        var order = Enumerable.Range(0, options.Count).ToArray();
        if (options.Count >= 2)
        {
            do
            {
                random.Shuffle(order);
            }
            while (IsIdentity(order));
        }

        return (order.Select(i => options[i]).ToArray(), Array.IndexOf(order, correctIndex));
    }

    private static bool IsIdentity(int[] order)
    {
        for (int i = 0; i < order.Length; i++)
        {
            if (order[i] != i)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A 32-bit FNV-1a hash of a string (stable across processes, unlike <see cref="string.GetHashCode()"/>).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The hash.</returns>
    public static int StableHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        uint h = 2166136261u;
        foreach (char c in text)
        {
            h = (h ^ c) * 16777619u;
        }

        return (int)(h & 0x7FFFFFFF);
    }

    private static QuestionVariant Permuted(string text, VqaSample sample, Random random, string generator)
    {
        var (options, correct) = Permute(sample.Options, sample.CorrectIndex, random);
        return new QuestionVariant(text, options, correct, generator);
    }

    private static string Key(QuestionVariant v) => string.Concat(Normalize(v.Question), "\u0001", string.Join('\u0002', v.Options));

    private static string Normalize(string text)
    {
        // Lower case with runs of spaces collapsed: forms that differ only in spacing or case are the same form.
        Span<char> buffer = text.Length <= 512 ? stackalloc char[text.Length] : new char[text.Length];
        int length = 0;
        foreach (char c in text)
        {
            if (c == ' ')
            {
                if (length > 0 && buffer[length - 1] != ' ')
                {
                    buffer[length++] = ' ';
                }
            }
            else
            {
                buffer[length++] = char.ToLowerInvariant(c);
            }
        }

        if (length > 0 && buffer[length - 1] == ' ')
        {
            length--;
        }

        return new string(buffer[..length]);
    }

    private static IEnumerable<string> Synonyms(ParsedQuestion parsed)
    {
        int template = Math.Max(0, parsed.Template);
        for (int r = 0; r < parsed.Relations.Count; r++)
        {
            var set = RelationSynonymSets.FirstOrDefault(s => s.Contains(parsed.Relations[r].Phrase));
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

    private static List<string> SceneReferences(SceneGraph scene, VqaSample sample, Random random)
    {
        string answer = sample.Options[sample.CorrectIndex];
        var targets = scene.Anatomies.Where(o => o.Class == answer).ToList();
        var texts = new List<string>();
        if (targets.Count != 1)
        {
            return texts;
        }

        // Families other than the original's first: a different referring expression is what can change the outcome.
        var own = QuestionFamilyClassifier.Classify(sample.Question);
        var families = QuestionGenerator.Families.OrderBy(f => f == own ? 1 : 0).ThenBy(_ => random.Next()).ToList();
        foreach (var family in families.Concat(families))
        {
            var spec = QuestionGenerator.TryBuild(family, scene, targets[0], random);
            if (spec is not null && SceneQuestionChecker.Check(scene, spec, sample.Options, sample.CorrectIndex, out _) && !texts.Contains(spec.Text()))
            {
                texts.Add(spec.Text());
            }
        }

        return texts;
    }
}
