using System.Buffers.Binary;

namespace Broadcast.WebRtc.Rtp;

/// <summary>
/// The channel's video RTP packets since its latest H.264 keyframe: what a WebRTC viewer that connects now needs to
/// show a picture at once instead of waiting up to a whole GOP for the next keyframe. A keyframe begins with the first
/// packet (RFC 3550 §5.1 timestamp) that carries an SPS or the start of an IDR slice, as a single NAL unit, inside a
/// STAP-A, or as the first FU-A fragment (RFC 6184 §5.6–5.8); the next one starts the cache afresh. One arena allocated
/// up front holds the packets; a GOP that outgrows it is not cached (viewers of such a stream wait for its next
/// keyframe, as before). Used from the fan-out's one thread only.
/// </summary>
public sealed class RtpKeyframeCache(int capacityBytes = RtpKeyframeCache.DefaultCapacityBytes, int maxPackets = RtpKeyframeCache.DefaultMaxPackets)
{
    /// <summary>Enough for a 2 s GOP at 8 Mbit/s.</summary>
    public const int DefaultCapacityBytes = 2 * 1024 * 1024;

    public const int DefaultMaxPackets = 4096;

    private const int NalSps = 7, NalIdr = 5, NalStapA = 24, NalFuA = 28;

    private readonly byte[] _arena = GC.AllocateUninitializedArray<byte>(capacityBytes);
    private readonly int[] _offsets = new int[maxPackets];
    private readonly int[] _lengths = new int[maxPackets];
    private int _used;
    private uint _keyframeTimestamp;
    private bool _holding;

    /// <summary>Packets held: the keyframe's first one and every video packet after it.</summary>
    public int Count { get; private set; }

    /// <summary>Packet <paramref name="index"/> (0 is the keyframe's first), as it was received.</summary>
    public ReadOnlySpan<byte> this[int index]
        => (uint)index < (uint)Count ? _arena.AsSpan(_offsets[index], _lengths[index]) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Takes one video RTP packet of the channel, in the order they are sent.</summary>
    public void Add(ReadOnlySpan<byte> packet)
    {
        if (StartsKeyframe(packet, out uint timestamp) && !(_holding && timestamp == _keyframeTimestamp))
        {
            Clear();
            _holding = true;
            _keyframeTimestamp = timestamp;
        }

        if (!_holding) return;
        if (Count == _offsets.Length || _used + packet.Length > _arena.Length)
        {
            // This GOP is longer than the cache: none of it is worth replaying without its beginning.
            Clear();
            return;
        }

        packet.CopyTo(_arena.AsSpan(_used));
        _offsets[Count] = _used;
        _lengths[Count] = packet.Length;
        _used += packet.Length;
        Count++;
    }

    public void Clear()
    {
        Count = 0;
        _used = 0;
        _holding = false;
    }

    /// <summary>
    /// Whether an RTP packet (RFC 3550 §5.1: CSRCs and a header extension skipped) carries an H.264 SPS or the start of an
    /// IDR slice; its RTP timestamp. False for anything shorter than its own headers say.
    /// </summary>
    public static bool StartsKeyframe(ReadOnlySpan<byte> packet, out uint timestamp)
    {
        timestamp = 0;
        if (packet.Length < 12 || packet[0] >> 6 != 2) return false;
        int offset = 12 + 4 * (packet[0] & 0x0F);
        if ((packet[0] & 0x10) != 0)
        {
            if (packet.Length < offset + 4) return false;
            offset += 4 + 4 * BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
        }

        int end = packet.Length;
        if ((packet[0] & 0x20) != 0)
        {
            // Padding: its count is the last byte (RFC 3550 §5.1).
            if (packet.Length == 0) return false;
            end -= packet[^1];
        }

        if (offset >= end) return false;
        timestamp = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        var payload = packet[offset..end];
        int type = payload[0] & 0x1F;
        return type switch
        {
            NalSps or NalIdr => true,
            // STAP-A: 1-byte header, then 16-bit size and NAL unit, repeated; the first unit is what the access unit starts with.
            NalStapA => payload.Length > 3 && (payload[3] & 0x1F) is NalSps or NalIdr,
            // FU-A: the FU header's S bit starts the fragmented unit, its low 5 bits are the unit's type.
            NalFuA => payload.Length > 1 && (payload[1] & 0x80) != 0 && (payload[1] & 0x1F) is NalSps or NalIdr,
            _ => false,
        };
    }
}
