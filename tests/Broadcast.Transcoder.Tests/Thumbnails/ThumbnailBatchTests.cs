using System.Buffers;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Thumbnails;

namespace Broadcast.Transcoder.Tests.Thumbnails;

/// <summary>
/// Thumbnails in batches: keyframes of several channels go to one ffmpeg run as one-frame FLVs (sequence header, then
/// the keyframe at 0), and come back as one JPEG each at the configured height, each channel keeping its own aspect.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ThumbnailBatchTests
{
    [Fact]
    public void A_keyframe_becomes_a_one_frame_flv_with_its_sequence_header_first()
    {
        var track = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0 }, "avc1.64001f", 640, 360, "High", "3.1", new FrameRate(30, 1));
        var keyframe = MediaFrame.Rent(track, 90_000 * 7, 0, true, new byte[] { 0, 0, 0, 2, 0x65, 0x88 });
        try
        {
            byte[] flv = ThumbnailBatch.ToFlv(keyframe);
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
    public void Ffmpeg_reads_local_files_alone_and_writes_one_jpeg_per_input_at_the_height_configured()
    {
        var arguments = ThumbnailBatch.Arguments(["/w/0.flv", "/w/1.flv"], ["/w/0.jpg", "/w/1.jpg"], 360);
        Assert.Equal(["-protocol_whitelist", "file"], arguments.SkipWhile(a => a != "-protocol_whitelist").Take(2));
        Assert.Equal(["-threads", "1", "-f", "flv", "-i", "/w/0.flv", "-threads", "1", "-f", "flv", "-i", "/w/1.flv"], arguments.SkipWhile(a => a != "-threads").Take(12));
        Assert.Equal(["-map", "1:v:0", "-frames:v", "1", "-vf", "scale=-2:360"], arguments.SkipWhile(a => a != "1:v:0").Prepend("-map").Take(6));
        Assert.Equal("/w/1.jpg", arguments[^1]);
        Assert.Equal(4, arguments.Count(a => a == "mjpeg"));
        Assert.Throws<ArgumentException>(() => ThumbnailBatch.Arguments(
            Enumerable.Range(0, ThumbnailBatch.MaxPictures + 1).Select(i => $"{i}.flv").ToList(),
            Enumerable.Range(0, ThumbnailBatch.MaxPictures + 1).Select(i => $"{i}.jpg").ToList(), 360));
    }

    /// <summary>
    /// Three channels of three shapes in one run, and a fourth whose keyframe ffmpeg cannot decode: the three get their
    /// pictures (the run is split until the bad one stands alone), the fourth a reason.
    /// </summary>
    [Fact]
    public async Task Channels_of_different_shapes_get_their_pictures_from_one_run_and_a_bad_keyframe_spoils_only_its_own()
    {
        using var dir = new TempDirectory();
        var keyframes = new List<MediaFrame>();
        try
        {
            keyframes.Add(await KeyframeAsync(dir, 640, 360));
            keyframes.Add(await KeyframeAsync(dir, 480, 360));
            keyframes.Add(await KeyframeAsync(dir, 1280, 720));
            var good = keyframes[0];
            var broken = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80 },
                "avc1.64001f", 640, 360, "High", "3.1", new FrameRate(30, 1));
            keyframes.Add(MediaFrame.Rent(broken, 0, 0, true, new byte[] { 0, 0, 0, 4, 0x65, 0xff, 0xff, 0xff }));

            string work = dir.Combine("work");
            Directory.CreateDirectory(work);
            var made = await ThumbnailBatch.EncodeAsync("ffmpeg", keyframes, 360, work, TimeSpan.FromSeconds(60), CancellationToken.None);
            var results = made.Pictures;

            Assert.Equal(4, results.Count);
            Assert.Equal((640, 360), JpegInfo.Size(results[0].Jpeg ?? throw new Xunit.Sdk.XunitException(results[0].Error)));
            Assert.Equal((480, 360), JpegInfo.Size(results[1].Jpeg ?? throw new Xunit.Sdk.XunitException(results[1].Error)));
            Assert.Equal((640, 360), JpegInfo.Size(results[2].Jpeg ?? throw new Xunit.Sdk.XunitException(results[2].Error)));
            Assert.Null(results[3].Jpeg);
            Assert.True(made.Runs > 1, $"{made.Runs} ffmpeg run(s): ffmpeg cannot open the bad keyframe, so the batch is split until it stands alone");
            Assert.False(string.IsNullOrEmpty(results[3].Error));
            // Nothing is left behind in the work directory.
            Assert.Empty(Directory.EnumerateFileSystemEntries(work));
        }
        finally
        {
            foreach (var keyframe in keyframes) keyframe.Release();
        }
    }

    /// <summary>The first video keyframe of a clip ffmpeg makes at <paramref name="width"/>x<paramref name="height"/>, demuxed as ingest does.</summary>
    internal static async Task<MediaFrame> KeyframeAsync(TempDirectory dir, int width, int height)
    {
        string clip = dir.Combine($"clip{width}x{height}.flv");
        MediaTools.Run("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate=30",
            "-t", "1", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-f", "flv", clip]);
        MediaFrame? keyframe = null;
        foreach (var frame in await FlvClipFrames.ReadAsync(clip))
        {
            if (keyframe is null && frame.Kind == MediaKind.Video && frame.IsKeyframe) keyframe = frame;
            else frame.Release();
        }

        return keyframe ?? throw new Xunit.Sdk.XunitException("no keyframe in the clip");
    }
}
