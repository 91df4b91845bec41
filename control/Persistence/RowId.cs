using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Broadcast.Control.Persistence;

/// <summary>
/// Ids of rows listed by time (chat messages, clips, channels…): UUID version 7 (RFC 9562 §5.7) written as 32 lowercase
/// hex digits, so that ordinal order is time order. Lists sort by (time column, id), and the time columns keep
/// milliseconds: two rows made in the same millisecond are ordered by their ids alone. <see cref="Guid.CreateVersion7()"/>
/// fills everything after the timestamp at random, so two chat messages posted in one millisecond came back from the
/// history in either order.
/// <para>
/// Here the 56 bits after the timestamp (rand_a and the top of rand_b) are a sequence of this process that rises by a
/// random step, 1 to 65,536, with every id: the "monotonic random" of RFC 9562 §6.2 (method 2), kept across
/// milliseconds rather than drawn again in each. Within one millisecond, ids made by this process then sort in the order
/// they were made, whatever times other callers ask for meanwhile (a clock read before another thread's, a test's
/// clock). The random start and step keep the ids hard to guess and say little of how many rows were made; the last 18
/// bits are random, so two processes whose sequences meet in the same millisecond still make different ids. Ids from two
/// processes in one millisecond sort by chance: nothing orders those.
/// </para>
/// </summary>
public static class RowId
{
    private const int SequenceBits = 56;
    private const int LowSequenceBits = SequenceBits - 12;
    private const int RandomBits = 62 - LowSequenceBits;
    private const int MaxStep = 1 << 16;

    // Starts in the lower half: at 32,768 a step on average, about 2^40 ids go by before the 56 bits run out.
    private static long _sequence = RandomNumberGenerator.GetInt32(int.MaxValue) * (1L << (SequenceBits - 32));

    /// <summary>A new id for a row made at <paramref name="at"/>.</summary>
    public static string New(DateTimeOffset at) => NewGuid(at).ToString("N");

    /// <summary>The same, as a <see cref="Guid"/>.</summary>
    public static Guid NewGuid(DateTimeOffset at)
    {
        long millis = at.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(millis, nameof(at));
        ulong sequence = (ulong)Interlocked.Add(ref _sequence, RandomNumberGenerator.GetInt32(1, MaxStep + 1)) & ((1UL << SequenceBits) - 1);
        ulong random = (ulong)RandomNumberGenerator.GetInt32(1 << RandomBits);

        Span<byte> bytes = stackalloc byte[16];
        // unix_ts_ms (48 bits), ver (4 bits) = 7, rand_a (12 bits): the sequence's top 12 bits.
        BinaryPrimitives.WriteUInt64BigEndian(bytes, ((ulong)millis << 16) | 0x7000UL | (sequence >> LowSequenceBits));
        // var (2 bits) = 0b10, then rand_b (62 bits): the sequence's other 44 bits and 18 random ones.
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], (0b10UL << 62) | ((sequence & ((1UL << LowSequenceBits) - 1)) << RandomBits) | random);
        return new Guid(bytes, bigEndian: true);
    }
}
