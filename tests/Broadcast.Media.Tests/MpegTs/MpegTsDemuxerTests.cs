using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// Malformed streams, made by breaking one thing in a real ffmpeg-written TS: each is refused with a reason naming the
/// fault, and a continuity gap (lost packets) is not an error but costs the frames up to the next keyframe.
/// </summary>
[Trait("Kind", "Component")]
public sealed class MpegTsDemuxerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _clip;

    public MpegTsDemuxerTests()
    {
        _clip = Clip("clip.ts", "-c:a", "aac");
    }

    public void Dispose() => _dir.Dispose();

    private byte[] Clip(string name, params string[] audio)
    {
        string path = _dir.Combine(name);
        string[] args = ["-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", .. audio, "-f", "mpegts", path];
        MediaTools.Run("ffmpeg", args);
        return File.ReadAllBytes(path);
    }

    private static (bool Ok, string? Error, LiveStream Stream, MpegTsDemuxer Demuxer) Demux(byte[] ts, int maxPesSize = MpegTsDemuxer.DefaultMaxPesSize)
    {
        var stream = new LiveStream("ts");
        var demuxer = new MpegTsDemuxer(stream, maxPesSize);
        bool ok = demuxer.TryWrite(ts, out var error);
        return (ok, error, stream, demuxer);
    }

    /// <summary>Index of the first packet on <paramref name="pid"/> with payload_unit_start set, after <paramref name="from"/>.</summary>
    private static int FindPacket(byte[] ts, int pid, int from = 0)
    {
        for (int at = from * 188; at + 188 <= ts.Length; at += 188)
            if ((((ts[at + 1] & 0x1F) << 8) | ts[at + 2]) == pid && (ts[at + 1] & 0x40) != 0) return at / 188;
        throw new InvalidOperationException($"no PES start on PID {pid}");
    }

    private static int PayloadStart(byte[] ts, int packet)
    {
        int at = packet * 188;
        return at + ((ts[at + 3] & 0x20) != 0 ? 5 + ts[at + 4] : 4);
    }

    private const int VideoPid = 0x100;
    private const int AudioPid = 0x101;
    private const int PmtPid = 0x1000; // ffmpeg's mpegts muxer: SDT, PAT, then the PMT on 0x1000

    [Fact]
    public void The_clip_itself_demuxes()
    {
        var (ok, error, stream, demuxer) = Demux(_clip);
        Assert.True(ok, error);
        Assert.True(stream.Statistics.VideoFrames > 40);
        Assert.Equal(0, demuxer.ContinuityErrors);
        demuxer.Dispose();
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "sync byte lost", "lost MPEG-TS sync" },
        { "PAT CRC broken", "malformed program association table" },
        { "PMT CRC broken", "malformed program map table" },
        { "PES start code broken", "malformed PES header on PID 256" },
        { "adaptation field too long", "adaptation field of 190 bytes" },
        { "scrambled video", "scrambled TS packets on PID 256" },
        { "ADTS syncword broken", "malformed ADTS header" },
        { "PSI pointer past the packet", "pointer_field 200 runs past the packet" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void A_broken_stream_is_refused_with_a_reason(string fault, string reason)
    {
        var ts = (byte[])_clip.Clone();
        int video = FindPacket(ts, VideoPid, 10);
        switch (fault)
        {
            case "sync byte lost": ts[188 * 20] = 0x46; break;
            case "PAT CRC broken": ts[PayloadStart(ts, FindPacket(ts, 0)) + 1 + 10] ^= 0x01; break; // inside the program loop
            case "PMT CRC broken": ts[PayloadStart(ts, FindPacket(ts, PmtPid)) + 1 + 14] ^= 0x01; break;
            case "PES start code broken": ts[PayloadStart(ts, video) + 2] = 0x02; break;
            case "adaptation field too long": ts[video * 188 + 3] = (byte)((ts[video * 188 + 3] & 0xCF) | 0x30); ts[video * 188 + 4] = 190; break;
            case "scrambled video": ts[video * 188 + 3] |= 0x80; break;
            case "ADTS syncword broken":
                int audio = FindPacket(ts, AudioPid, 10);
                int payload = PayloadStart(ts, audio);
                ts[payload + 9 + ts[payload + 8]] = 0x00; // the first byte after the PES header: the ADTS syncword
                break;
            case "PSI pointer past the packet": ts[PayloadStart(ts, FindPacket(ts, 0))] = 200; break;
        }
        var (ok, error, _, demuxer) = Demux(ts);
        Assert.False(ok, fault);
        Assert.Contains(reason, error);
        demuxer.Dispose();
    }

    [Fact]
    public void A_pes_above_the_size_bound_is_refused()
    {
        var (ok, error, _, demuxer) = Demux(_clip, maxPesSize: 1024);
        Assert.False(ok);
        Assert.Contains("longer than 1024 bytes", error);
        demuxer.Dispose();
    }

    [Fact]
    public void A_program_without_a_supported_stream_is_refused()
    {
        string path = _dir.Combine("mp2.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "1", "-c:a", "mp2", "-f", "mpegts", path);
        var (ok, error, _, demuxer) = Demux(File.ReadAllBytes(path));
        Assert.False(ok);
        Assert.Contains("no H.264, HEVC, ADTS AAC or Opus stream (stream types 0x03)", error);
        demuxer.Dispose();
    }

    [Fact]
    public void Unsupported_streams_beside_supported_ones_are_ignored_and_named()
    {
        var ts = Clip("mp2-and-h264.ts", "-c:a", "mp2");
        var (ok, error, stream, demuxer) = Demux(ts);
        Assert.True(ok, error);
        Assert.True(stream.Statistics.VideoFrames > 40);
        Assert.Equal(0, stream.Statistics.AudioFrames);
        Assert.Equal(TsStreamType.Mpeg1Audio, Assert.Single(demuxer.IgnoredStreams).StreamType);
        demuxer.Dispose();
    }

    [Fact]
    public void A_lost_packet_drops_its_frame_and_video_up_to_the_next_keyframe()
    {
        var whole = Demux(_clip);
        int lost = FindPacket(_clip, VideoPid, 10) + 1; // a packet inside a picture of the first group
        var ts = _clip.Take(lost * 188).Concat(_clip.Skip((lost + 1) * 188)).ToArray();
        var (ok, error, stream, demuxer) = Demux(ts);
        Assert.True(ok, error);
        Assert.Equal(1, demuxer.ContinuityErrors);
        long missing = whole.Stream.Statistics.VideoFrames - stream.Statistics.VideoFrames;
        Assert.InRange(missing, 2, 25); // the broken picture and the rest of its one-second group
        Assert.Equal(whole.Stream.Statistics.AudioFrames, stream.Statistics.AudioFrames);
        demuxer.Dispose();
        whole.Demuxer.Dispose();
    }

    [Fact]
    public void A_duplicate_packet_is_skipped()
    {
        int packet = FindPacket(_clip, VideoPid, 10) + 1;
        var ts = _clip.Take((packet + 1) * 188).Concat(_clip.Skip(packet * 188)).ToArray();
        var whole = Demux(_clip);
        var (ok, error, stream, demuxer) = Demux(ts);
        Assert.True(ok, error);
        Assert.Equal(0, demuxer.ContinuityErrors);
        Assert.Equal(whole.Stream.Statistics.VideoFrames, stream.Statistics.VideoFrames);
        demuxer.Dispose();
        whole.Demuxer.Dispose();
    }

    [Fact]
    public void Timestamps_that_wrap_at_33_bits_keep_counting()
    {
        var unwrapper = new PtsUnwrapper();
        Assert.Equal(PtsUnwrapper.Range - 3000, unwrapper.Unwrap(PtsUnwrapper.Range - 3000));
        Assert.Equal(PtsUnwrapper.Range + 0, unwrapper.Unwrap(0));
        Assert.Equal(PtsUnwrapper.Range + 3000, unwrapper.Unwrap(3000));
        Assert.Equal(PtsUnwrapper.Range - 6000, unwrapper.Unwrap(PtsUnwrapper.Range - 6000)); // a B-frame before the wrap
    }
}
