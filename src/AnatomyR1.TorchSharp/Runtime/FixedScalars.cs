using TorchSharp;

namespace AnatomyR1.TorchSharp.Runtime;

/// <summary>
/// Constant libtorch scalars that live as long as the process, and tensor helpers that use them instead of the
/// temporary <see cref="Scalar"/> objects TorchSharp creates for .NET numbers (for example the implicit
/// <c>alpha = 1</c> of <c>a + b</c>).
/// </summary>
/// <remarks>
/// A temporary Scalar is released only by its finalizer. The JIT may consider it dead once its native handle has been
/// read, so a garbage collection during the libtorch call that uses the handle can free it while libtorch still reads
/// it. The decoding loop and the models' forward passes therefore pass only scalars that stay reachable: these
/// constants, or scalars that a caller creates and disposes itself (<c>using var s = value.ToScalar()</c>). Then no
/// no-GC region (and no forced collection) is needed around generation.
/// </remarks>
public static class FixedScalars
{
    /// <summary>The integer 1 (the <c>alpha</c> of an addition or subtraction).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>The integer 0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>The float 0.</summary>
    public static readonly Scalar FloatZero = 0f.ToScalar();

    /// <summary>The float 1.</summary>
    public static readonly Scalar FloatOne = 1f.ToScalar();

    /// <summary>The integer 2 (squares).</summary>
    public static readonly Scalar Two = 2.ToScalar();

    /// <summary>The double 0.5.</summary>
    public static readonly Scalar HalfDouble = 0.5.ToScalar();

    /// <summary>The double 2.0.</summary>
    public static readonly Scalar TwoDouble = 2.0.ToScalar();

    /// <summary>The additive attention mask value of a masked key (−10⁹).</summary>
    public static readonly Scalar MaskedKey = (-1e9f).ToScalar();

    /// <summary>Negative infinity (float).</summary>
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();

    /// <summary><c>a + b</c> without a temporary scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The sum.</returns>
    public static torch.Tensor Plus(this torch.Tensor a, torch.Tensor b) => a.add(b, One);

    /// <summary><c>a − b</c> without a temporary scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The difference.</returns>
    public static torch.Tensor Minus(this torch.Tensor a, torch.Tensor b) => a.sub(b);

    /// <summary><c>a + 1</c> without a temporary scalar.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>The tensor plus one.</returns>
    public static torch.Tensor PlusOne(this torch.Tensor a) => a.add(One, One);

    /// <summary>The additive attention mask of a boolean one: 0 where allowed, −10⁹ where not (float32).</summary>
    /// <param name="allowed">True where a query may attend to a key.</param>
    /// <returns>The additive mask, same shape.</returns>
    public static torch.Tensor AdditiveMask(torch.Tensor allowed) =>
        torch.zeros(allowed.shape, dtype: torch.ScalarType.Float32, device: allowed.device).masked_fill(allowed.logical_not(), MaskedKey);
}
