using System.Buffers;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Transcoder.Thumbnails;

namespace Broadcast.Transcoder.Tests.Thumbnails;

/// <summary>What ffmpeg is given for a thumbnail: a one-frame FLV (sequence header, then the keyframe at 0) and arguments that ask for one JPEG.</summary>
public sealed class ThumbnailEncoderTests
{
    [Fact]
    public void A_keyframe_becomes_a_one_frame_flv_with_its_sequence_header_first()
    {
        var track = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0 }, "avc1.64001f", 640, 360, "High", "3.1", new FrameRate(30, 1));
        var keyframe = MediaFrame.Rent(track, 90_000 * 7, 0, true, new byte[] { 0, 0, 0, 2, 0x65, 0x88 });
        try
        {
            byte[] flv = ThumbnailEncoder.ToFlv(keyframe);
            Assert.True(FlvFileHeader.TryRead(flv, out var header, out int consumed));
            Assert.True(header.HasVideo);
            Assert.False(header.HasAudio);
            var tags = new List<(FlvTagType Type, uint Ms, int Size)>();
            var position = new FlvStreamReader().Read(new ReadOnlySequence<byte>(flv), tag =>
            {
                tags.Add((tag.Type, tag.TimestampMs, tag.Data.Length));
                return true;
            }, out string? error);
            Assert.Null(error);
            Assert.Equal(2, tags.Count);
            Assert.All(tags, t => Assert.Equal((FlvTagType.Video, 0u), (t.Type, t.Ms)));
            // Sequence header (5-byte video tag header + the avcC record), then the frame (5 + its 6 bytes).
            Assert.Equal([5 + 8, 5 + 6], tags.Select(t => t.Size));
            Assert.Equal(flv.Length, position.GetInteger());
            Assert.Equal(FlvFileHeader.Size, consumed);
        }
        finally
        {
            keyframe.Release();
        }
    }

    [Fact]
    public void Ffmpeg_is_asked_for_one_jpeg_at_the_height_configured()
    {
        var arguments = ThumbnailEncoder.Arguments(360);
        Assert.Equal(["-frames:v", "1"], arguments.SkipWhile(a => a != "-frames:v").Take(2));
        Assert.Contains("scale=-2:360", arguments);
        Assert.Equal(["-c:v", "mjpeg", "pipe:1"], arguments.TakeLast(3));
        Assert.Equal(["-f", "flv", "-i", "pipe:0"], arguments.SkipWhile(a => a != "-f").Take(4));
    }
}
