using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>Opus in MPEG-TS as ffmpeg writes it (a component test: ffmpeg makes the stream).</summary>
[Trait("Kind", "Component")]
public sealed class OpusTsFromFfmpegTests
{
    [Fact]
    public void Ffmpeg_written_opus_beside_h264_is_read_packet_by_packet_without_a_gap()
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("opus.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-f", "mpegts", path);
        var stream = new LiveStream("opus");
        var sink = new OpusTsTests.RecordingOpusSink();
        using var demuxer = new MpegTsDemuxer(stream, opus: sink);
        Assert.True(demuxer.TryWrite(File.ReadAllBytes(path), out var error), error);
        Assert.Equal([2], sink.Opened);
        Assert.True(stream.Statistics.VideoFrames > 40);
        Assert.Equal(0, stream.Statistics.AudioFrames); // Opus goes to the sink, never into the stream
        int total = sink.Packets.Sum(p => p.Samples);
        // Two seconds at 48 kHz, give or take the last packets the muxer flushes (the final PES may be cut short).
        Assert.InRange(total, 96_000 - 4 * 960, 96_000 + 2 * 960);
        for (int i = 1; i < sink.Packets.Count; i++)
            Assert.InRange(sink.Packets[i].Dts - (sink.Packets[i - 1].Dts + sink.Packets[i - 1].Samples), -1, 1);
    }
}
