using System.Runtime;

namespace AnatomyR1.TorchSharp.Runtime;

/// <summary>
/// Keeps the .NET garbage collector from running during a block of libtorch calls.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns .NET numbers into temporary, finalizable <c>Scalar</c> objects (for example the implicit
/// <c>alpha = 1</c> of <c>a + b</c>, or the coefficients inside its AdamW step) and passes only their native handle
/// to libtorch. A garbage collection during that native call can finalize the Scalar and free its memory while
/// libtorch still reads it; this shows up as rare, random failures such as
/// <c>Expected false to be true ... toFloat</c> inside an addition. No collection means no finalization, so the
/// policy's generation and training steps run inside a no-GC region sized well above their managed allocations.
/// If the region cannot be entered (already inside one, or the runtime refuses), the block simply runs as usual.
/// </remarks>
public sealed class GcQuietRegion : IDisposable
{
    private readonly bool _entered;

    private GcQuietRegion(long bytes)
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            return;
        }

        try
        {
            _entered = GC.TryStartNoGCRegion(bytes);
        }
        catch (ArgumentOutOfRangeException)
        {
            _entered = false;
        }
        catch (InvalidOperationException)
        {
            _entered = false;
        }
    }

    /// <summary>Default budget: 48 MB of managed allocations, far above one step's tensor wrappers.</summary>
    public const long DefaultBytes = 48L * 1024 * 1024;

    /// <summary>Enters a region (dispose to leave it).</summary>
    /// <param name="bytes">Managed bytes the block may allocate before a collection would be needed.</param>
    /// <returns>The region.</returns>
    public static GcQuietRegion Enter(long bytes = DefaultBytes) => new(bytes);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_entered && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // The block allocated more than the budget and a collection already ended the region.
            }
        }
    }
}
