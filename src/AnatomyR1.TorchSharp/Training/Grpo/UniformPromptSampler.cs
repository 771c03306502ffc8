namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>
/// Draws prompts uniformly at random, without repetition inside one draw (with repetition only when a draw asks for
/// more prompts than exist). Seeded per (seed, step, attempt).
/// </summary>
public sealed class UniformPromptSampler : IGrpoPromptSampler
{
    private static readonly IReadOnlyDictionary<string, double> NoMetrics = new Dictionary<string, double>();
    private readonly int _count;
    private readonly int _seed;

    /// <summary>Creates a sampler over <paramref name="count"/> examples.</summary>
    /// <param name="count">Number of training examples.</param>
    /// <param name="seed">Seed.</param>
    public UniformPromptSampler(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _count = count;
        _seed = seed;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Draw(int step, int attempt, int count) => DrawFrom(_count, StepSeed(_seed, step, attempt), count);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Metrics(int step) => NoMetrics;

    /// <summary>Draws <paramref name="count"/> of the first <paramref name="pool"/> indices (no repeats while the pool lasts).</summary>
    /// <param name="pool">Pool size.</param>
    /// <param name="seed">Seed of this draw.</param>
    /// <param name="count">Indices wanted.</param>
    /// <returns>The indices.</returns>
    public static IReadOnlyList<int> DrawFrom(int pool, int seed, int count)
    {
        var random = new Random(seed);
        var result = new List<int>(count);
        while (result.Count < count)
        {
            var order = Enumerable.Range(0, pool).ToArray();
            random.Shuffle(order);
            result.AddRange(order.Take(count - result.Count));
        }

        return result;
    }

    /// <summary>A well-mixed 32-bit seed from a base seed, a step and an attempt.</summary>
    /// <param name="seed">Base seed.</param>
    /// <param name="step">Step.</param>
    /// <param name="attempt">Attempt.</param>
    /// <returns>The derived seed.</returns>
    public static int StepSeed(int seed, int step, int attempt) => SeedMixer.Mix(seed, step, attempt);
}
