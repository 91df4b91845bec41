namespace Broadcast.TestSupport.Fuzzing;

/// <summary>
/// A small deterministic PRNG (xoshiro256** seeded through SplitMix64): the same seed gives the same stream on every
/// machine and .NET version, which <see cref="Random"/> does not promise. Every fuzz input is derived from
/// (run seed, iteration), so a failure replays from the two numbers the report prints.
/// </summary>
public sealed class FuzzRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public FuzzRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The generator for one iteration of a run.</summary>
    public static FuzzRandom ForIteration(ulong runSeed, long iteration) => new(runSeed ^ (0x9E3779B97F4A7C15UL * (ulong)(iteration + 1)));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>0 ≤ result &lt; <paramref name="maxExclusive"/> (which must be positive).</summary>
    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary><paramref name="min"/> ≤ result ≤ <paramref name="maxInclusive"/>.</summary>
    public int Between(int min, int maxInclusive)
    {
        if (maxInclusive < min) throw new ArgumentOutOfRangeException(nameof(maxInclusive));
        return (int)(min + (long)(NextUInt64() % (ulong)((long)maxInclusive - min + 1)));
    }

    public bool Chance(int oneIn) => Next(oneIn) == 0;

    public byte NextByte() => (byte)NextUInt64();

    public void Fill(Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = NextByte();
    }

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
