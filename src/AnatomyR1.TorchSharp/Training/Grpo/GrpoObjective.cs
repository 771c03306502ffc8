using static TorchSharp.torch;

namespace AnatomyR1.TorchSharp.Training.Grpo;

/// <summary>The per-token terms of one micro-batch (all [N, T]; dispose with the step's scope).</summary>
/// <param name="Loss">The per-token loss (policy term plus β·KL).</param>
/// <param name="Kl">The k3 KL estimate per token, or null without a reference.</param>
/// <param name="LowClipped">Tokens where the ratio fell below 1 − ε_low with a negative advantage (as 0/1).</param>
/// <param name="HighClipped">Tokens where the ratio rose above 1 + ε_high with a positive advantage (as 0/1).</param>
public sealed record GrpoTokenTerms(Tensor Loss, Tensor? Kl, Tensor LowClipped, Tensor HighClipped);

/// <summary>
/// The GRPO per-token objective: ρ = exp(logπθ − logπ_old); l = −min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A) + β·KL with
/// the k3 estimator KL = exp(ref − θ) − (ref − θ) − 1; or, for GPG, l = −logπθ·A + β·KL.
/// </summary>
public static class GrpoObjective
{
    /// <summary>Computes the per-token terms.</summary>
    /// <param name="logProbs">logπθ of the completion tokens [N, T] (differentiable).</param>
    /// <param name="oldLogProbs">logπ_old [N, T] (no gradient).</param>
    /// <param name="referenceLogProbs">log π_ref [N, T], or null when β = 0.</param>
    /// <param name="advantages">A per completion [N].</param>
    /// <param name="epsilonLow">ε_low.</param>
    /// <param name="epsilonHigh">ε_high.</param>
    /// <param name="beta">β.</param>
    /// <param name="gpg">Use the GPG policy term (no ratio).</param>
    /// <returns>The terms.</returns>
    public static GrpoTokenTerms Compute(Tensor logProbs, Tensor oldLogProbs, Tensor? referenceLogProbs, Tensor advantages,
        double epsilonLow, double epsilonHigh, double beta, bool gpg)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        ArgumentNullException.ThrowIfNull(advantages);
        var a = advantages.unsqueeze(1);
        var ratio = (logProbs - oldLogProbs).exp();
        Tensor policyTerm;
        if (gpg)
        {
            policyTerm = -(logProbs * a);
        }
        else
        {
            var clipped = ratio.clamp(1 - epsilonLow, 1 + epsilonHigh);
            policyTerm = -minimum(ratio * a, clipped * a);
        }

        Tensor? kl = null;
        var loss = policyTerm;
        if (referenceLogProbs is not null && beta > 0)
        {
            var delta = referenceLogProbs - logProbs;
            kl = delta.exp() - delta - 1;
            loss = loss + (beta * kl);
        }

        var detachedRatio = ratio.detach();
        var low = (detachedRatio.lt(1 - epsilonLow) & a.lt(0)).to_type(logProbs.dtype);
        var high = (detachedRatio.gt(1 + epsilonHigh) & a.gt(0)).to_type(logProbs.dtype);
        return new GrpoTokenTerms(loss, kl, low, high);
    }

    /// <summary>The GPG scale α = B / (B − M) for B groups of which M have zero reward variance (0 when all do).</summary>
    /// <param name="groups">B.</param>
    /// <param name="zeroStdGroups">M.</param>
    /// <returns>α.</returns>
    public static double GpgAlpha(int groups, int zeroStdGroups)
    {
        if (groups < 1 || zeroStdGroups < 0 || zeroStdGroups > groups)
        {
            throw new ArgumentOutOfRangeException(nameof(zeroStdGroups), $"M = {zeroStdGroups} must lie in [0, B = {groups}].");
        }

        return zeroStdGroups == groups ? 0 : (double)groups / (groups - zeroStdGroups);
    }

    /// <summary>Mean of <paramref name="values"/> over the tokens where <paramref name="mask"/> is 1 (0 when none).</summary>
    /// <param name="values">Values [N, T].</param>
    /// <param name="mask">Mask [N, T] (same dtype).</param>
    /// <returns>The mean.</returns>
    public static double MaskedMean(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        double count = mask.sum().item<float>();
        return count == 0 ? 0 : (values.detach() * mask).sum().item<float>() / count;
    }
}
