namespace Broadcast.Media.Codecs.Opus;

/// <summary>
/// What the first bytes of an Opus packet say about its length in time (RFC 6716 section 3.1, the TOC byte, and 3.2,
/// the frame count). Opus always counts time at 48 kHz, whatever the coded bandwidth.
/// </summary>
public static class OpusPacket
{
    /// <summary>The rate Opus timestamps and durations count in (RFC 7845 section 4: granule positions at 48 kHz).</summary>
    public const int SampleRate = 48_000;

    /// <summary>A packet lasts at most 120 ms (RFC 6716 section 3.2.5, requirement R5).</summary>
    public const int MaxSamples = 5_760;

    /// <summary>
    /// The most bytes a packet can hold: 48 frames (120 ms of 2.5 ms frames) of at most 1,275 bytes each (section 3.2.1,
    /// R2), with the TOC, the frame count byte and up to two length bytes a frame. Bounds what a publisher can make the
    /// server queue per packet.
    /// </summary>
    public const int MaxBytes = 48 * 1_275 + 2 + 48 * 2;

    /// <summary>
    /// The samples (at 48 kHz) the packet decodes to. False for an empty packet (R1), one over <see cref="MaxBytes"/>,
    /// a code 3 packet without its frame count byte or with no frames (R6 needs at least one), and one longer than
    /// 120 ms (R5).
    /// </summary>
    public static bool TryGetSamples(ReadOnlySpan<byte> packet, out int samples)
    {
        samples = 0;
        if (packet.IsEmpty || packet.Length > MaxBytes) return false;
        byte toc = packet[0];
        int frames = (toc & 0x03) switch
        {
            0 => 1,
            1 or 2 => 2,
            // Code 3: the frame count byte follows (v, p, M with M in its low six bits).
            _ => packet.Length < 2 ? 0 : packet[1] & 0x3F,
        };
        if (frames == 0) return false;
        int total = frames * SamplesPerFrame(toc >> 3);
        if (total > MaxSamples) return false;
        samples = total;
        return true;
    }

    /// <summary>Table 2 of section 3.1: configurations 0–11 SILK (10/20/40/60 ms), 12–15 hybrid (10/20 ms), 16–31 CELT
    /// (2.5/5/10/20 ms).</summary>
    private static int SamplesPerFrame(int config) => config switch
    {
        < 12 => (config & 0x03) switch { 0 => 480, 1 => 960, 2 => 1_920, _ => 2_880 },
        < 16 => (config & 0x01) == 0 ? 480 : 960,
        _ => (config & 0x03) switch { 0 => 120, 1 => 240, 2 => 480, _ => 960 },
    };
}
