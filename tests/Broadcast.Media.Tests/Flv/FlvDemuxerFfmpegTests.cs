using Broadcast.TestSupport;
using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Flv;
using Broadcast.Media.Codecs;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// The demuxer fed with what real encoders produce: an ffmpeg-written FLV (libx264 + aac), and Enhanced RTMP
/// hvc1 tags built from a libx265 clip (Debian's ffmpeg 5.1 cannot write enhanced FLV itself).
/// </summary>
[Trait("Kind", "Component")]
public class FlvDemuxerFfmpegTests
{
    [Fact]
    public void Ffmpeg_flv_with_h264_and_aac_yields_the_tracks_and_frame_counts_ffprobe_sees()
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.flv");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=426x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", "30", "-c:a", "aac", "-b:a", "64k", "-ac", "2", "-f", "flv", clip);

        var stream = new LiveStream("ffmpeg");
        var demuxer = new FlvDemuxer(stream);
        using var reader = stream.OpenReader("check", 4096);
        int tags = 0;
        foreach (var (type, timestamp, body) in ReadTags(File.ReadAllBytes(clip)))
        {
            string? error = null;
            bool ok = type switch
            {
                FlvTagType.Video => demuxer.TryWriteVideo(timestamp, body, out error),
                FlvTagType.Audio => demuxer.TryWriteAudio(timestamp, body, out error),
                _ => true, // onMetaData: AMF0 is the RTMP work item's; the SPS has the timing info here anyway
            };
            Assert.True(ok, $"tag {tags} (type {type} at {timestamp} ms): {error}");
            tags++;
        }

        var videoProbe = MediaTools.ProbeFirstStream(clip, "-count_frames", "-select_streams", "v:0");
        var audioProbe = MediaTools.ProbeFirstStream(clip, "-count_frames", "-select_streams", "a:0");

        var video = stream.Video!;
        Assert.Equal(Codec.H264, video.Codec);
        Assert.Equal((426, 240), (video.Width, video.Height));
        Assert.Equal(videoProbe.GetProperty("width").GetInt32(), video.Width);
        Assert.Equal(videoProbe.GetProperty("height").GetInt32(), video.Height);
        Assert.Equal(videoProbe.GetProperty("profile").GetString(), video.Profile);
        Assert.Equal($"avc1.6400{videoProbe.GetProperty("level").GetInt32():x2}", video.CodecString);
        Assert.Equal(new FrameRate(30, 1), video.FrameRate);
        Assert.Equal(4, video.NalLengthSize);

        var audio = stream.Audio!;
        Assert.Equal("mp4a.40.2", audio.CodecString);
        Assert.Equal(int.Parse(audioProbe.GetProperty("sample_rate").GetString()!), audio.SampleRate);
        Assert.Equal(audioProbe.GetProperty("channels").GetInt32(), audio.Channels);
        Assert.Equal(48000, audio.Timescale);

        Assert.Equal(long.Parse(videoProbe.GetProperty("nb_read_frames").GetString()!), stream.Statistics.VideoFrames);
        Assert.Equal(long.Parse(audioProbe.GetProperty("nb_read_frames").GetString()!), stream.Statistics.AudioFrames);

        // What a reader sees: a keyframe first, video in 90 kHz, audio in 48 kHz, decode times never going back.
        long lastVideo = long.MinValue, lastAudio = long.MinValue;
        bool first = true;
        while (reader.TryRead(out var frame))
        {
            if (first) Assert.True(frame!.Kind == MediaKind.Video && frame.IsKeyframe);
            first = false;
            if (frame!.Kind == MediaKind.Video)
            {
                Assert.True(frame.Dts >= lastVideo);
                Assert.Equal(0, frame.Dts % 90); // whole milliseconds from FLV
                lastVideo = frame.Dts;
            }
            else
            {
                Assert.True(frame.Dts >= lastAudio);
                lastAudio = frame.Dts;
            }
            frame.Release();
        }
        Assert.InRange(lastVideo, 90_000L * 19 / 10, 90_000L * 2);
        Assert.InRange(lastAudio, 48_000L * 19 / 10, 48_000L * 21 / 10); // the AAC encoder flushes a frame past 2 s
    }

    [Fact]
    public void Enhanced_rtmp_hevc_tags_built_from_a_libx265_clip()
    {
        using var dir = new TempDirectory();
        string mp4 = dir.Combine("clip.mp4");
        string annexB = dir.Combine("clip.hevc");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-frames:v", "30", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:aud=1:keyint=10",
            "-tag:v", "hvc1", mp4);
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", mp4, "-c", "copy", "-bsf:v", "hevc_mp4toannexb", "-f", "hevc", annexB);

        byte[] hvcC = FindBox(File.ReadAllBytes(mp4), "hvcC");
        var stream = new LiveStream("hevc");
        var demuxer = new FlvDemuxer(stream);
        demuxer.SetMetadata(new Dictionary<string, object?> { ["framerate"] = 25.0 });
        using var reader = stream.OpenReader("check", 4096);

        Assert.True(demuxer.TryWriteVideo(0, VideoTag(0x90, FlvVideoPacketType.SequenceStart, 0, hvcC), out var error), error);
        var accessUnits = SplitAccessUnits(File.ReadAllBytes(annexB));
        int keyframes = 0;
        for (int i = 0; i < accessUnits.Count; i++)
        {
            var (payload, key) = accessUnits[i];
            if (key) keyframes++;
            byte frameType = (byte)(key ? 0x10 : 0x20);
            // Alternate the two coded-frame packet types: CodedFrames carries an SI24 composition time, CodedFramesX none.
            var tag = i % 2 == 0
                ? VideoTag((byte)(0x80 | frameType), FlvVideoPacketType.CodedFrames, 0, payload)
                : VideoTag((byte)(0x80 | frameType), FlvVideoPacketType.CodedFramesX, 0, payload);
            Assert.True(demuxer.TryWriteVideo(i * 40, tag, out error), $"AU {i}: {error}");
        }
        Assert.True(demuxer.TryWriteVideo(accessUnits.Count * 40, VideoTag(0x90, FlvVideoPacketType.SequenceEnd, 0, []), out error), error);

        var probe = MediaTools.ProbeFirstStream(mp4, "-count_frames");
        var video = stream.Video!;
        Assert.Equal(Codec.H265, video.Codec);
        Assert.Equal((320, 240), (video.Width, video.Height));
        Assert.Equal(probe.GetProperty("profile").GetString(), video.Profile);
        Assert.StartsWith($"hvc1.1.6.L{probe.GetProperty("level").GetInt32()}", video.CodecString);
        Assert.Equal(new FrameRate(25, 1), video.FrameRate);
        Assert.Equal(hvcC, video.DecoderConfig.ToArray());
        Assert.Equal(long.Parse(probe.GetProperty("nb_read_frames").GetString()!), stream.Statistics.VideoFrames);
        Assert.Equal(keyframes, stream.Statistics.Keyframes);
        Assert.True(keyframes >= 3);

        for (int i = 0; reader.TryRead(out var frame); i++)
        {
            Assert.Equal(i * 40L * 90, frame!.Dts);
            Assert.Equal(accessUnits[i].Payload, frame.Data.ToArray());
            frame.Release();
        }
    }

    private static byte[] VideoTag(byte first, FlvVideoPacketType type, int cts, ReadOnlySpan<byte> payload)
    {
        var header = new FlvVideoTagHeader((FlvVideoFrameType)((first >> 4) & 0x07), true, 0, FlvVideoTagHeader.FourCcHvc1, type, cts);
        var buffer = new ArrayBufferWriter<byte>();
        header.Write(buffer);
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Groups Annex B NAL units into access units at each AUD (type 35) and re-frames them with 4-byte
    /// lengths as hvc1 samples want; parameter sets stay out of band (in hvcC).</summary>
    private static List<(byte[] Payload, bool Key)> SplitAccessUnits(byte[] annexB)
    {
        var units = new List<(byte[], bool)>();
        var current = new ArrayBufferWriter<byte>();
        bool key = false;
        var reader = new AnnexBReader(annexB);
        while (reader.TryReadNext(out var nal))
        {
            int type = (nal[0] >> 1) & 0x3F;
            if (type == 35)
            {
                // ffmpeg's MP4 muxer drops the first AUD, so a boundary is "an AUD after some NAL units".
                if (current.WrittenCount > 0) units.Add((current.WrittenSpan.ToArray(), key));
                current.Clear();
                key = false;
                continue;
            }
            if (type is 32 or 33 or 34) continue;
            if (type is >= 16 and <= 21) key = true;
            BinaryPrimitives.WriteUInt32BigEndian(current.GetSpan(4), (uint)nal.Length);
            current.Advance(4);
            current.Write(nal);
        }
        if (current.WrittenCount > 0) units.Add((current.WrittenSpan.ToArray(), key));
        return units;
    }

    /// <summary>The body of the first box of the given type, found by scanning (enough for ffmpeg's small MP4s).</summary>
    private static byte[] FindBox(byte[] file, string type)
    {
        var fourcc = System.Text.Encoding.ASCII.GetBytes(type);
        int i = file.AsSpan().IndexOf(fourcc);
        Assert.True(i >= 4, $"no {type} box");
        int size = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(i - 4));
        return file.AsSpan(i + 4, size - 8).ToArray();
    }

    /// <summary>Walks an FLV file (E.2-E.3) with the stream reader: header, then tags each followed by PreviousTagSize.</summary>
    internal static List<(FlvTagType Type, long TimestampMs, byte[] Body)> ReadTags(byte[] file)
    {
        var tags = new List<(FlvTagType, long, byte[])>();
        var consumed = new FlvStreamReader().Read(new ReadOnlySequence<byte>(file), tag =>
        {
            tags.Add((tag.Type, tag.TimestampMs, tag.Data.ToArray()));
            return true;
        }, out string? error);
        Assert.Null(error);
        Assert.Equal(file.Length, consumed.GetInteger());
        return tags;
    }
}
