namespace AnatomyR1;

/// <summary>Derives well-mixed seeds from a base seed and counters, so that draws are pure functions of (seed, step, attempt).</summary>
public static class SeedMixer
{
    /// <summary>A 31-bit non-negative seed from a base seed, a step and an attempt (a splitmix-style finaliser).</summary>
    /// <param name="seed">Base seed.</param>
    /// <param name="step">Step.</param>
    /// <param name="attempt">Attempt.</param>
    /// <returns>The derived seed.</returns>
    public static int Mix(int seed, int step, int attempt)
    {
        ulong x = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)step * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)attempt * 0xC2B2AE3D27D4EB4FUL);
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return (int)(x & 0x7FFFFFFF);
    }
}
