namespace AnatomyR1.Synthetic;

/// <summary>
/// The intended visual similarity of the synthetic anatomy classes, in [0, 1] (1 on the diagonal). The renderer is
/// designed to this table: Liver and Cystic Plate are both smooth, dark red-brown and overlap in colour (0.90);
/// Gallbladder and Abdominal Wall Cavity are both pale (0.60); Gut is pink-red with loops, close to the red organs;
/// Omentum is yellow and lobulated, unlike everything. The curriculum (ASCL) and its tests are to use this table as the
/// ground-truth "anatomical similarity" of answer options on synthetic data.
/// </summary>
/// <remarks>
/// <code>
///                        AWC   CP    GB    Gut   Liver Omentum
/// Abdominal Wall Cavity  1.00  0.15  0.60  0.40  0.10  0.30
/// Cystic Plate           0.15  1.00  0.10  0.55  0.90  0.10
/// Gallbladder            0.60  0.10  1.00  0.20  0.10  0.35
/// Gut                    0.40  0.55  0.20  1.00  0.50  0.20
/// Liver                  0.10  0.90  0.10  0.50  1.00  0.05
/// Omentum                0.30  0.10  0.35  0.20  0.05  1.00
/// </code>
/// </remarks>
public static class VisualSimilarity
{
    private static readonly double[,] Table =
    {
        { 1.00, 0.15, 0.60, 0.40, 0.10, 0.30 },
        { 0.15, 1.00, 0.10, 0.55, 0.90, 0.10 },
        { 0.60, 0.10, 1.00, 0.20, 0.10, 0.35 },
        { 0.40, 0.55, 0.20, 1.00, 0.50, 0.20 },
        { 0.10, 0.90, 0.10, 0.50, 1.00, 0.05 },
        { 0.30, 0.10, 0.35, 0.20, 0.05, 1.00 },
    };

    /// <summary>The similarity of two classes.</summary>
    /// <param name="a">A class name from <see cref="AnatomyClasses.All"/>.</param>
    /// <param name="b">Another class name.</param>
    /// <returns>The intended similarity in [0, 1].</returns>
    public static double Of(string a, string b) => Table[AnatomyClasses.IndexOf(a), AnatomyClasses.IndexOf(b)];

    /// <summary>Mean similarity of the answer to its distractors: S(q) measured with this table.</summary>
    /// <param name="answer">The correct class.</param>
    /// <param name="distractors">The other options.</param>
    /// <returns>The mean similarity.</returns>
    public static double MeanToAnswer(string answer, IEnumerable<string> distractors) => distractors.Select(d => Of(answer, d)).Average();
}
