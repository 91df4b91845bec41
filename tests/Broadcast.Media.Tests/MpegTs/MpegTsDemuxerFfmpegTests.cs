using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// The demuxer fed with what a real encoder writes: ffmpeg's MPEG-TS muxer with libx264/libx265 and AAC, sliced the
/// way SRT carries it (1316-byte messages) and in odd slices. The frame counts and sizes must match ffprobe's.
/// </summary>
[Trait("Kind", "Component")]
public class MpegTsDemuxerFfmpegTests
{
    public static TheoryData<string, string, string> Encoders => new()
    {
        { "libx264", "H264", "avc1.64" },
        { "libx265", "H265", "hvc1.1" },
    };

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Ffmpeg_ts_yields_the_tracks_and_frames_ffprobe_sees(string encoder, string codec, string codecStringPrefix)
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=426x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "2", "-c:v", encoder, "-preset", "veryfast", "-g", "30", "-bf", "2", "-c:a", "aac", "-b:a", "64k", "-ac", "2",
            "-x265-params", "log-level=error", "-f", "mpegts", clip);

        foreach (int slice in new[] { 1316, 1000, 7 })
        {
            var stream = new LiveStream("ts");
            using var demuxer = new MpegTsDemuxer(stream);
            using var reader = stream.OpenReader("check", 8192);
            var bytes = File.ReadAllBytes(clip).AsSpan();
            for (int at = 0; at < bytes.Length; at += slice)
                Assert.True(demuxer.TryWrite(bytes[at..Math.Min(bytes.Length, at + slice)], out var error), error);

            var videoProbe = MediaTools.ProbeFirstStream(clip, "-count_frames", "-select_streams", "v:0");
            var audioProbe = MediaTools.ProbeFirstStream(clip, "-count_frames", "-select_streams", "a:0");
            var video = stream.Video!;
            Assert.Equal(Enum.Parse<Codec>(codec), video.Codec);
            Assert.Equal((426, 240), (video.Width, video.Height));
            Assert.StartsWith(codecStringPrefix, video.CodecString);
            Assert.Equal(4, video.NalLengthSize);
            var audio = stream.Audio!;
            Assert.Equal("mp4a.40.2", audio.CodecString);
            Assert.Equal((48000, 2), (audio.SampleRate, audio.Channels));

            // The last video access unit waits for a next PES start that never comes: one fewer than the file holds.
            Assert.Equal(long.Parse(videoProbe.GetProperty("nb_read_frames").GetString()!) - 1, stream.Statistics.VideoFrames);
            Assert.Equal(long.Parse(audioProbe.GetProperty("nb_read_frames").GetString()!), stream.Statistics.AudioFrames);

            long lastVideo = long.MinValue, lastAudio = long.MinValue;
            bool first = true;
            int keyframes = 0;
            while (reader.TryRead(out var frame))
            {
                if (first) Assert.True(frame!.Kind == MediaKind.Video && frame.IsKeyframe, frame!.ToString());
                first = false;
                if (frame!.Kind == MediaKind.Video)
                {
                    Assert.True(frame.Dts > lastVideo, $"video DTS {frame.Dts} after {lastVideo}");
                    Assert.True(frame.CompositionOffset >= 0);
                    if (lastVideo != long.MinValue) Assert.Equal(3000, frame.Dts - lastVideo); // 30 fps at 90 kHz
                    if (frame.IsKeyframe) keyframes++;
                    lastVideo = frame.Dts;
                    AssertLengthPrefixed(frame.Data.Span);
                }
                else
                {
                    if (lastAudio != long.MinValue) Assert.Equal(1024, frame.Dts - lastAudio); // sample counts, not rounded PTS
                    lastAudio = frame.Dts;
                }
                frame.Release();
            }
            Assert.Equal(2, keyframes); // -g 30 over 60 frames
            Assert.Equal(0, demuxer.ContinuityErrors);
        }
    }

    /// <summary>Every NAL unit has its 4-byte length; no start codes, parameter sets or delimiters are left in.</summary>
    private static void AssertLengthPrefixed(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data);
            Assert.InRange(length, 1, data.Length - 4);
            data = data[(4 + length)..];
        }
    }
}
