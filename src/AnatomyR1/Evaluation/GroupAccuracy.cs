namespace AnatomyR1.Evaluation;

/// <summary>Accuracy over a group of questions, with its binomial standard error √(p(1−p)/n).</summary>
/// <param name="Count">Questions in the group.</param>
/// <param name="Correct">Questions answered correctly.</param>
public sealed record GroupAccuracy(int Count, int Correct)
{
    /// <summary>Correct / Count; 0 for an empty group.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>Binomial standard error of <see cref="Accuracy"/>; 0 for an empty group.</summary>
    public double StandardError => Count == 0 ? 0 : Math.Sqrt(Accuracy * (1 - Accuracy) / Count);
}
