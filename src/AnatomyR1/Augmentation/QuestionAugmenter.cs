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
/// (the original first) from its <see cref="IQuestionRewriter"/>s: the preferred ones first, in order (built in:
/// scene-graph references — synthetic scenes: the same target through another referring expression, proven on the
/// graph), then the others pooled and shuffled (built in: template rephrasings of the parsed question and relation
/// synonyms; then <see cref="GroupDiversityOptions.Rewriters"/>); option permutation then gives every new form its own
/// option order and fills the remaining slots. A question no rewriter can rewrite that does not parse is left alone
/// with status <see cref="AugmentationStatus.Unparsed"/>. Deterministic: the draws depend on the seed, the sample id
/// and the question only. Thread-safe as long as the rewriters are.
/// </summary>
public sealed class QuestionAugmenter
{
    private readonly GroupDiversityOptions _options;
    private readonly SceneGraphFiles _scenes = new();
    private readonly IReadOnlyList<IQuestionRewriter> _rewriters;

    /// <summary>Creates the augmenter.</summary>
    /// <param name="options">Options (validated and copied).</param>
    public QuestionAugmenter(GroupDiversityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _rewriters = BuiltInRewriters(_options).Concat(_options.Rewriters).ToList();
    }

    /// <summary>The rewriters in use: the enabled built-ins, then the user's.</summary>
    public IReadOnlyList<IQuestionRewriter> Rewriters => _rewriters;

    private static IEnumerable<IQuestionRewriter> BuiltInRewriters(GroupDiversityOptions options)
    {
        if (options.SceneGraphReferences)
        {
            yield return new SceneGraphReferenceRewriter();
        }

        if (options.Rephrase)
        {
            yield return new TemplateRephraseRewriter();
        }

        if (options.RelationSynonyms)
        {
            yield return new RelationSynonymRewriter();
        }
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
        var scene = _rewriters.Any(r => r is SceneGraphReferenceRewriter) ? _scenes.For(sample.ImagePath) : null;
        var context = new QuestionRewriteContext(sample, parsed, scene, random);
        var rewrites = new List<(string Text, string Generator)>();
        foreach (var rewriter in _rewriters.Where(r => r.Preferred))
        {
            rewrites.AddRange(rewriter.Rewrite(context).Select(t => (t, rewriter.Name)));
        }

        var pooled = new List<(string, string)>();
        foreach (var rewriter in _rewriters.Where(r => !r.Preferred))
        {
            pooled.AddRange(rewriter.Rewrite(context).Select(t => (t, rewriter.Name)));
        }

        if (parsed is null && rewrites.Count == 0 && pooled.Count == 0)
        {
            return new AugmentationResult(AugmentationStatus.Unparsed, new[] { original }, null);
        }

        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pooled));
        rewrites.AddRange(pooled);

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
}
