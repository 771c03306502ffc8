using AnatomyR1.Synthetic;

namespace AnatomyR1.TorchSharp.Training;

/// <summary>
/// Text-only "option lookup" drill for the warm start: the question names an anatomy and the target trace ends with
/// the same lookup as the synthetic traces ("… is gut, option B &lt;/think&gt; &lt;answer&gt;B&lt;/answer&gt;"), on a blank image. It
/// teaches the step the small model otherwise fails to form: finding the letter of the anatomy it has just named.
/// </summary>
public static class OptionDrill
{
    /// <summary>Makes one drill example from a set of options.</summary>
    /// <param name="options">The options (e.g. a real record's).</param>
    /// <param name="random">The random source.</param>
    /// <returns>An example with an empty image path (a blank image).</returns>
    public static SupervisedExample Make(IReadOnlyList<string> options, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        var shuffled = options.OrderBy(_ => random.Next()).ToArray();
        int k = random.Next(shuffled.Length);
        string words = shuffled[k].ToLowerInvariant();
        char letter = (char)('A' + k);
        string cell = GridCell.All[random.Next(GridCell.All.Count)].Name;
        return new SupervisedExample(
            string.Empty,
            $"Which option is the {words}?",
            shuffled,
            $"<think> the {cell} is {words}, option {letter} </think> <answer>{letter}</answer>");
    }
}
