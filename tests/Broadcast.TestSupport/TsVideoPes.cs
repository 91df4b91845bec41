using Broadcast.Media.MpegTs;

namespace Broadcast.TestSupport;

/// <summary>Where the video PES packets of an ffmpeg-written MPEG-TS begin, and their PTS: for placing things among them.</summary>
public static class TsVideoPes
{
    /// <summary>The video PID of ffmpeg's mpegts muxer.</summary>
    public const int FfmpegVideoPid = 0x100;

    /// <summary>Each packet on <paramref name="pid"/> that starts a PES with a PTS: its index and the PTS.</summary>
    public static IEnumerable<(int Packet, long Pts)> Starts(byte[] ts, int pid = FfmpegVideoPid)
    {
        for (int at = 0; at + TsPacketHeader.PacketSize <= ts.Length; at += TsPacketHeader.PacketSize)
        {
            if ((((ts[at + 1] & 0x1F) << 8) | ts[at + 2]) != pid || (ts[at + 1] & 0x40) == 0) continue;
            int payload = at + ((ts[at + 3] & 0x20) != 0 ? 5 + ts[at + 4] : 4);
            if (payload >= at + TsPacketHeader.PacketSize) continue;
            if (PesHeader.TryRead(ts.AsSpan(payload, at + TsPacketHeader.PacketSize - payload), out var pes, out _) && pes.HasPts)
                yield return (at / TsPacketHeader.PacketSize, pes.Pts);
        }
    }

    /// <summary>The first video PES starting <paramref name="after"/> 90 kHz ticks or more past the first one.</summary>
    public static (int Packet, long Pts) From(byte[] ts, long after)
    {
        long? first = null;
        foreach (var (packet, pts) in Starts(ts))
        {
            first ??= pts;
            if (pts - first >= after) return (packet, pts);
        }
        throw new InvalidOperationException("the clip is too short");
    }
}
