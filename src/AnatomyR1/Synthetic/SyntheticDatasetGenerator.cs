using System.Globalization;
using AnatomyR1.Data;

namespace AnatomyR1.Synthetic;

/// <summary>One generated scene: its layout (graph and drawing), its split, its records and its PNG.</summary>
/// <param name="Layout">The layout.</param>
/// <param name="Split">train, val or test.</param>
/// <param name="Records">The questions about it.</param>
/// <param name="Png">The rendered image.</param>
public sealed record SyntheticScene(SceneLayout Layout, string Split, IReadOnlyList<SyntheticRecord> Records, byte[] Png);

/// <summary>
/// Generates the synthetic SSG-VQA-style dataset: balanced schedules of answer class, family and distractor tier;
/// one scene per <see cref="SyntheticDatasetOptions.QuestionsPerScene"/> records, sampled until every question of the
/// scene is proven by <see cref="SceneQuestionChecker"/>; PNG rendering. Deterministic: each scene draws from its
/// own generator seeded from (seed, scene index), so the output does not depend on parallelism.
/// </summary>
public static class SyntheticDatasetGenerator
{
    private const int MaxAttempts = 500;

    /// <summary>Generates every scene in memory, in scene order.</summary>
    /// <param name="options">The options.</param>
    /// <param name="progress">Receives the number of scenes finished so far.</param>
    /// <param name="cancellationToken">Stops the generation.</param>
    /// <returns>The scenes.</returns>
    public static IReadOnlyList<SyntheticScene> Generate(SyntheticDatasetOptions options, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var master = new Random(options.Seed);
        int perScene = options.QuestionsPerScene;
        int sceneCount = (options.Count + perScene - 1) / perScene;
        var classes = Schedule(options.ClassWeights.OrderBy(p => p.Key, StringComparer.Ordinal).ToList(), options.Count, master);
        var families = Schedule(options.FamilyWeights.OrderBy(p => p.Key).ToList(), options.Count, master);
        var tiers = Schedule(Enum.GetValues<DistractorTier>().Select(t => new KeyValuePair<DistractorTier, double>(t, 1)).ToList(), options.Count, master);
        RepairDistinctClasses(classes, perScene);
        var splits = AssignSplits(sceneCount, options, master);

        var scenes = new SyntheticScene[sceneCount];
        int done = 0;
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Parallelism > 0 ? options.Parallelism : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, sceneCount, parallel, s =>
        {
            int first = s * perScene;
            int last = Math.Min(options.Count, first + perScene);
            var wanted = Enumerable.Range(first, last - first).Select(i => (Index: i, Class: classes[i], Family: families[i], Tier: tiers[i])).ToList();
            var (layout, records) = BuildScene(SceneId(s), options.ImageSize, Mix(options.Seed, s), wanted, options);
            scenes[s] = new SyntheticScene(layout, splits[s], records, SceneRenderer.RenderPng(layout));
            progress?.Report(Interlocked.Increment(ref done));
        });
        return scenes;
    }

    /// <summary>The id of scene <paramref name="index"/>, e.g. <c>scene-000042</c>.</summary>
    /// <param name="index">The scene index.</param>
    /// <returns>The id.</returns>
    public static string SceneId(int index) => "scene-" + index.ToString("D6", CultureInfo.InvariantCulture);

    private static (SceneLayout Layout, List<SyntheticRecord> Records) BuildScene(
        string sceneId, int size, int seed, List<(int Index, string Class, QuestionFamily Family, DistractorTier Tier)> wanted, SyntheticDatasetOptions settings)
    {
        var random = new Random(seed);
        var required = wanted.Select(w => w.Class).ToList();
        bool relational = wanted.Any(w => w.Family is QuestionFamily.OneHop or QuestionFamily.TwoHop or QuestionFamily.Rephrased);
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            // Two-hop questions need at least three objects; give relational questions some company.
            int minAnatomies = wanted.Any(w => w.Family == QuestionFamily.TwoHop) ? 3 : relational ? 2 : 2;
            var layout = SceneSampler.Sample(sceneId, size, random, required, minAnatomies);
            var records = new List<SyntheticRecord>();
            foreach (var w in wanted)
            {
                var target = layout.Graph.Anatomies.Single(o => o.Class == w.Class);
                var options = Options(w.Class, w.Tier, random);
                int correct = options.IndexOf(w.Class);
                bool ColourAllowed(string colour) => settings.ColourWordsInTargets
                    && (settings.AllowTextShortcuts || options.Count(o => AnatomyAppearance.ByClass[o].ColourWord == colour) >= 2);
                var spec = QuestionGenerator.TryBuild(w.Family, layout.Graph, target, random, ColourAllowed);
                if (spec is null)
                {
                    break;
                }

                if (!SceneQuestionChecker.Check(layout.Graph, spec, options, correct, out _))
                {
                    break;
                }

                string completion = ReasoningTrace.Build(layout.Graph, spec, target, (char)('A' + correct));
                records.Add(new SyntheticRecord(w.Index, layout.Graph, spec, target, options, correct, w.Tier, completion));
            }

            if (records.Count == wanted.Count)
            {
                return (layout, records);
            }
        }

        throw new InvalidOperationException(
            $"{sceneId}: no scene supporting {string.Join(", ", wanted.Select(w => $"a {w.Family} question about {w.Class}"))} was found in {MaxAttempts} attempts.");
    }

    /// <summary>
    /// The answer plus three distractors chosen by tier, in random order. A tier picks among the ten four-option sets
    /// that contain the answer, ranked by the set's own mean pairwise <see cref="VisualSimilarity"/> (a symmetric
    /// measure, so every member of a set ranks it alike): Hard draws from the three most alike sets, Easy from the three
    /// least alike, Mixed from all ten. Choosing "the answer's three most similar classes" instead would make the
    /// option set name the answer (with six classes, the two classes left out would identify it) and let a model
    /// answer without looking at the image.
    /// </summary>
    private static List<string> Options(string answer, DistractorTier tier, Random random)
    {
        var others = AnatomyClasses.All.Where(c => c != answer).ToList();
        var sets = new List<(string[] Set, double Similarity)>();
        for (int i = 0; i < others.Count; i++)
        {
            for (int j = i + 1; j < others.Count; j++)
            {
                for (int k = j + 1; k < others.Count; k++)
                {
                    var set = new[] { answer, others[i], others[j], others[k] };
                    sets.Add((set, MeanPairwiseSimilarity(set)));
                }
            }
        }

        var ranked = sets.OrderByDescending(s => s.Similarity).ThenBy(s => string.Join("|", s.Set.Order(StringComparer.Ordinal)), StringComparer.Ordinal).ToList();
        var pool = tier switch
        {
            DistractorTier.Hard => ranked.Take(3).ToList(),
            DistractorTier.Easy => ranked.Skip(ranked.Count - 3).ToList(),
            _ => ranked,
        };
        var chosen = pool[random.Next(pool.Count)].Set;
        return chosen.OrderBy(_ => random.Next()).ToList();
    }

    private static double MeanPairwiseSimilarity(IReadOnlyList<string> set)
    {
        double sum = 0;
        int pairs = 0;
        for (int i = 0; i < set.Count; i++)
        {
            for (int j = i + 1; j < set.Count; j++)
            {
                sum += VisualSimilarity.Of(set[i], set[j]);
                pairs++;
            }
        }

        return sum / pairs;
    }

    /// <summary>Exactly proportional counts (largest remainder), shuffled.</summary>
    private static List<T> Schedule<T>(List<KeyValuePair<T, double>> weights, int count, Random random)
    {
        double total = weights.Sum(w => w.Value);
        var exact = weights.Select(w => w.Value / total * count).ToList();
        var counts = exact.Select(e => (int)Math.Floor(e)).ToList();
        foreach (int i in Enumerable.Range(0, weights.Count).OrderByDescending(i => exact[i] - counts[i]).ThenBy(i => i).Take(count - counts.Sum()))
        {
            counts[i]++;
        }

        var list = weights.SelectMany((w, i) => Enumerable.Repeat(w.Key, counts[i])).ToList();
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }

    /// <summary>Swaps classes so that the questions of one scene are about different anatomy regions.</summary>
    private static void RepairDistinctClasses(List<string> classes, int perScene)
    {
        if (perScene == 1)
        {
            return;
        }

        for (int i = 0; i < classes.Count; i++)
        {
            int start = i / perScene * perScene;
            bool Clash(int at, string c)
            {
                int s = at / perScene * perScene;
                for (int k = s; k < Math.Min(classes.Count, s + perScene); k++)
                {
                    if (k != at && classes[k] == c)
                    {
                        return true;
                    }
                }

                return false;
            }

            if (!Clash(i, classes[i]))
            {
                continue;
            }

            for (int j = 0; j < classes.Count; j++)
            {
                if (j / perScene != i / perScene && !Clash(i, classes[j]) && !Clash(j, classes[i]))
                {
                    (classes[i], classes[j]) = (classes[j], classes[i]);
                    break;
                }
            }

            if (Clash(i, classes[i]))
            {
                throw new InvalidOperationException(
                    $"Cannot give the {perScene} questions of scene {i / perScene} different answer classes with these class weights; lower QuestionsPerScene or weight more classes.");
            }
        }
    }

    private static string[] AssignSplits(int sceneCount, SyntheticDatasetOptions options, Random random)
    {
        var order = Enumerable.Range(0, sceneCount).ToArray();
        random.Shuffle(order);
        int train = (int)Math.Round(options.TrainFraction * sceneCount);
        int val = Math.Min(sceneCount - train, (int)Math.Round(options.ValidationFraction * sceneCount));
        var splits = new string[sceneCount];
        for (int k = 0; k < sceneCount; k++)
        {
            splits[order[k]] = k < train ? "train" : k < train + val ? "val" : "test";
        }

        return splits;
    }

    /// <summary>A well-mixed 31-bit seed for scene <paramref name="index"/> (SplitMix64 of seed and index).</summary>
    private static int Mix(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32) ^ (ulong)(uint)index;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
