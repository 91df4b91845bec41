using Broadcast.WebRtc.Rtp;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// Which H.264 RTP packets start a keyframe (RFC 6184 single NAL unit, STAP-A and FU-A payloads, behind RFC 3550 headers
/// with CSRCs, an extension or padding), and what the cache keeps: the latest keyframe's packets and everything after.
/// </summary>
public sealed class RtpKeyframeCacheTests
{
    // (name, packet, starts a keyframe): payloads as ffmpeg's H.264 RTP packetizer and browsers send them.
    public static TheoryData<string, byte[], bool> Cases => new()
    {
        { "SPS, single NAL unit", Rtp(1000, [0x67, 0x42, 0xC0, 0x1E]), true },
        { "IDR slice, single NAL unit", Rtp(1000, [0x65, 0x88, 0x84]), true },
        { "PPS", Rtp(1000, [0x68, 0xCE, 0x3C, 0x80]), false },
        { "P slice", Rtp(1000, [0x41, 0x9A, 0x02]), false },
        { "STAP-A led by an SPS", Rtp(1000, [0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1E, 0x00, 0x02, 0x68, 0xCE]), true },
        { "STAP-A led by an SEI", Rtp(1000, [0x78, 0x00, 0x02, 0x06, 0x05]), false },
        { "FU-A start of an IDR slice", Rtp(1000, [0x7C, 0x85, 0x88]), true },
        { "FU-A middle of an IDR slice", Rtp(1000, [0x7C, 0x05, 0x11]), false },
        { "FU-A start of a P slice", Rtp(1000, [0x5C, 0x81, 0x9A]), false },
        { "SPS behind two CSRCs", Rtp(1000, [0x67, 0x42], csrcs: 2), true },
        { "SPS behind a one-word header extension", Rtp(1000, [0x67, 0x42], extensionWords: 1), true },
        { "IDR before three bytes of padding", Rtp(1000, [0x65, 0x88, 0x00, 0x00, 0x03], padding: true), true },
    };

    // (name, packet): nothing that a broken or hostile sender makes is a keyframe, nor read past its end.
    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "empty", [] },
        { "shorter than an RTP header", [0x80, 0x60, 0x00] },
        { "RTP version 1", [0x40, 0x60, 0, 1, 0, 0, 0x03, 0xE8, 0, 0, 0, 1, 0x67] },
        { "header only, no payload", Rtp(1000, [])[..12] },
        { "CSRC count past the end", [0x8F, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x67] },
        { "extension length past the end", [0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF, 0x67] },
        { "extension header cut short", [0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE] },
        { "padding count larger than the packet", [0xA0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x67, 0xFF] },
        { "STAP-A with nothing aggregated", Rtp(1000, [0x78, 0x00]) },
        { "FU-A without its FU header", Rtp(1000, [0x7C]) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_keyframe_starts_at_an_sps_or_the_start_of_an_idr_slice(string name, byte[] packet, bool keyframe)
    {
        Assert.True(RtpKeyframeCache.StartsKeyframe(packet, out uint timestamp) == keyframe, name);
        if (keyframe) Assert.Equal(1000u, timestamp);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_packets_are_no_keyframe(string name, byte[] packet)
    {
        Assert.False(RtpKeyframeCache.StartsKeyframe(packet, out _), name);
        var cache = new RtpKeyframeCache();
        cache.Add(packet);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void The_cache_holds_the_latest_keyframe_and_what_followed_it()
    {
        var cache = new RtpKeyframeCache();
        cache.Add(Rtp(0, [0x41, 0x01])); // a P slice before any keyframe: useless to a new viewer
        Assert.Equal(0, cache.Count);

        byte[][] gop =
        [
            Rtp(3000, [0x67, 0x42]), Rtp(3000, [0x68, 0xCE]), Rtp(3000, [0x7C, 0x85, 0x01]), Rtp(3000, [0x7C, 0x45, 0x02]),
            Rtp(6000, [0x41, 0x9A]), Rtp(9000, [0x41, 0x9B]),
        ];
        foreach (var packet in gop) cache.Add(packet);
        Assert.Equal(gop.Length, cache.Count);
        for (int i = 0; i < gop.Length; i++) Assert.Equal(gop[i], cache[i].ToArray());

        // The next keyframe starts afresh; its own IDR start (same timestamp as its SPS) does not.
        cache.Add(Rtp(12000, [0x67, 0x42]));
        cache.Add(Rtp(12000, [0x65, 0x88]));
        Assert.Equal(2, cache.Count);
        Assert.Equal(Rtp(12000, [0x67, 0x42]), cache[0].ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => cache[2].ToArray());
    }

    [Fact]
    public void A_gop_longer_than_the_cache_is_not_kept_until_the_next_keyframe()
    {
        var cache = new RtpKeyframeCache(capacityBytes: 64, maxPackets: 100);
        cache.Add(Rtp(0, [0x67, 0x42]));
        for (int i = 1; i <= 5; i++) cache.Add(Rtp((uint)(i * 3000), [0x41, 0x9A, 0x00, 0x00]));
        Assert.Equal(0, cache.Count); // 16-byte packets: the fifth overflowed 64 bytes, and a GOP without its start is worth nothing
        cache.Add(Rtp(30000, [0x41, 0x9A]));
        Assert.Equal(0, cache.Count);
        cache.Add(Rtp(33000, [0x65, 0x88]));
        Assert.Equal(1, cache.Count);

        var few = new RtpKeyframeCache(capacityBytes: 4096, maxPackets: 2);
        few.Add(Rtp(0, [0x67]));
        few.Add(Rtp(0, [0x68]));
        few.Add(Rtp(3000, [0x41]));
        Assert.Equal(0, few.Count);
    }

    /// <summary>An RTP packet of payload type 96 with <paramref name="payload"/>.</summary>
    internal static byte[] Rtp(uint timestamp, byte[] payload, int csrcs = 0, int extensionWords = 0, bool padding = false, ushort sequence = 1)
    {
        var header = new List<byte>
        {
            (byte)(0x80 | (padding ? 0x20 : 0) | (extensionWords > 0 ? 0x10 : 0) | csrcs), 96, (byte)(sequence >> 8), (byte)sequence,
            (byte)(timestamp >> 24), (byte)(timestamp >> 16), (byte)(timestamp >> 8), (byte)timestamp, 0x12, 0x34, 0x56, 0x78,
        };
        for (int i = 0; i < csrcs; i++) header.AddRange([0, 0, 0, (byte)i]);
        if (extensionWords > 0)
        {
            header.AddRange([0xBE, 0xDE, 0, (byte)extensionWords]);
            for (int i = 0; i < extensionWords * 4; i++) header.Add(0);
        }

        return [.. header, .. payload];
    }
}
