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
/// <c>Expected false to be true ... toFloat</c> inside an addition. No collection means no finalization, so training
/// steps (whose TorchSharp optimiser and loss code create such scalars) run inside a no-GC region sized well above
/// their managed allocations. Generation needs none: it passes only scalars that stay reachable
/// (<see cref="FixedScalars"/>), so it runs without the full collection that entering a region forces.
/// <para>The region is process-wide, so regions are counted: the first block to enter starts it, blocks entering while
/// it is active (on any thread: two trainers stepping in parallel) join it, and only the last one to leave ends it.
/// A block therefore never loses the guard because another thread finished first. All blocks share the first one's
/// budget; should they exceed it, the runtime collects and the region ends (the next block to enter starts a new one).
/// If the region cannot be entered (another component's region, or the runtime refuses), the block simply runs as
/// usual.</para>
/// </remarks>
public sealed class GcQuietRegion : IDisposable
{
    private static readonly object Gate = new();
    private static int s_users;
    private static bool s_owned;
    private bool _counted;

    private GcQuietRegion(long bytes)
    {
        lock (Gate)
        {
            _counted = true;
            s_users++;
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                // Ours (joined) or another component's (left alone).
                return;
            }

            try
            {
                s_owned = GC.TryStartNoGCRegion(bytes);
            }
            catch (ArgumentOutOfRangeException)
            {
                s_owned = false;
            }
            catch (InvalidOperationException)
            {
                s_owned = false;
            }
        }
    }

    /// <summary>Default budget: 48 MB of managed allocations, far above one step's tensor wrappers.</summary>
    public const long DefaultBytes = 48L * 1024 * 1024;

    /// <summary>Blocks inside a region right now, on all threads.</summary>
    public static int ActiveBlocks
    {
        get
        {
            lock (Gate)
            {
                return s_users;
            }
        }
    }

    /// <summary>Whether the garbage collector is in a no-GC region now.</summary>
    public static bool IsHeld => GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;

    /// <summary>Enters a region (dispose to leave it).</summary>
    /// <param name="bytes">Managed bytes the blocks may allocate before a collection would be needed (used by the block that starts the region).</param>
    /// <returns>The region.</returns>
    public static GcQuietRegion Enter(long bytes = DefaultBytes) => new(bytes);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (Gate)
        {
            if (!_counted)
            {
                return;
            }

            _counted = false;
            s_users--;
            if (s_users > 0 || !s_owned)
            {
                return;
            }

            s_owned = false;
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.EndNoGCRegion();
                }
                catch (InvalidOperationException)
                {
                    // The blocks allocated more than the budget and a collection already ended the region.
                }
            }
        }
    }
}
