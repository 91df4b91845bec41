using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Slate;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Transcoder.Tests;

/// <summary>
/// The reconnect slate: a still image and silence encoded once by the real ffmpeg to the source's size and audio
/// format, then played into a waiting stream at the clock's pace until the encoder is back.
/// </summary>
[Trait("Kind", "Component")]
public sealed class SlateTests : IDisposable
{
    private readonly TempDirectory _dir = new("slate");

    public void Dispose() => _dir.Dispose();

    private static MediaFrame Frame(MediaTrack track, long dts, bool key, int size) => MediaFrame.Rent(track, dts, 0, key, new byte[size]);

    private string Image()
    {
        string path = Path.Combine(_dir.Path, "slate.png");
        if (!File.Exists(path)) MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=navy:s=400x300", "-frames:v", "1", "-y", path);
        return path;
    }

    [Fact]
    public async Task The_slate_is_one_segment_of_h264_at_the_source_size_and_aac_silence()
    {
        using var clip = await SlateClip.EncodeAsync("ffmpeg", Image(), 320, 240, 44100, 1, 2, CancellationToken.None);

        Assert.Equal(2 * SlateClip.FramesPerSecond, clip.Video.Count);
        Assert.True(clip.Video[0].IsKeyframe);
        Assert.Single(clip.Video, f => f.IsKeyframe);
        var video = Assert.IsType<VideoTrack>(clip.Video[0].Track);
        Assert.Equal((320, 240), (video.Width, video.Height));
        Assert.Equal(Codec.H264, video.Codec);
        Assert.All(clip.Video.Zip(clip.Video.Skip(1)), p => Assert.Equal(Timescales.Video / SlateClip.FramesPerSecond, p.Second.Dts - p.First.Dts));
        var audio = Assert.IsType<AudioTrack>(clip.Audio[0].Track);
        Assert.Equal((44100, 1, Codec.Aac), (audio.SampleRate, audio.Channels, audio.Codec));
        Assert.InRange(clip.Audio.Count, 2 * 44100 / 1024 - 1, 2 * 44100 / 1024 + 3);
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("not flv", "474554202f20485454502f312e310d0a")]
    [InlineData("header only", "464c560105000000090000000000")]
    [InlineData("video tag that is not h264", "464c56010500000009000000000900000500000000000000120000000000000010")]
    public void Malformed_slate_flv_is_refused(string name, string hex)
    {
        var ex = Assert.ThrowsAny<Exception>(() => SlateClip.Parse(Convert.FromHexString(hex)).Dispose());
        Assert.True(ex is InvalidDataException, $"{name}: {ex}");
    }

    [Fact]
    public async Task A_waiting_stream_gets_the_slate_between_two_gaps_until_the_encoder_is_back()
    {
        var registry = new LiveStreamRegistry();
        await using var filler = new SlateFiller(registry, "ffmpeg", Image(), 2, NullLogger<SlateFiller>.Instance);
        await filler.StartAsync(default);
        Assert.True(registry.TryStartPublish("chan", out var stream));
        var source = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1E }, "avc1.64001e", 320, 240);
        var audio = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        stream.SetTrack(source);
        stream.SetTrack(audio);
        using var reader = stream.OpenReader("test", capacity: 10_000);
        stream.Write(Frame(source, 0, true, 100));
        stream.Write(Frame(audio, 0, true, 10));

        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(60)));
        // The publisher's frames, its drop, then at least one second of slate (a new epoch, a new decoder configuration).
        var seen = new List<string>();
        long slateVideo = 0, firstSlateDts = -1, lastSlateDts = -1;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (lastSlateDts - firstSlateDts < Timescales.Video && DateTime.UtcNow < deadline)
        {
            var read = await reader.ReadOrGapAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            if (read.IsGap) { seen.Add("gap"); continue; }
            var f = read.Frame!;
            if (f.Epoch == 0) seen.Add($"publisher {f.Kind}");
            else if (f.Kind == MediaKind.Video)
            {
                if (slateVideo++ == 0)
                {
                    seen.Add("slate");
                    Assert.True(f.IsKeyframe);
                    Assert.False(f.Track.HasSameConfig(source));
                    firstSlateDts = f.Dts;
                }
                lastSlateDts = f.Dts;
            }
            f.Release();
        }
        Assert.Equal(["publisher Video", "publisher Audio", "gap", "slate"], seen);
        Assert.True(stream.IsReconnecting);

        // The encoder is back: the slate stops behind a gap, and the new publish follows it.
        Assert.True(registry.TryStartPublish("chan", out _));
        stream.Write(Frame(source, 0, true, 100));
        var after = new List<string>();
        while (after.Count == 0 || after[^1] != "publisher")
        {
            var read = await reader.ReadOrGapAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(read.IsEnd);
            if (read.IsGap) after.Add("gap");
            else
            {
                string what = read.Frame!.Epoch == stream.Epoch ? "publisher" : "slate";
                if (what == "publisher") Assert.True(read.Frame.Dts > lastSlateDts, "the new publish is not placed after the slate");
                if (after.Count == 0 || after[^1] != what) after.Add(what);
                read.Frame.Release();
            }
        }
        Assert.Equal("publisher", after[^1]);
        Assert.Equal("gap", after[^2]);
        Assert.Equal(2, stream.Epoch);
        registry.EndPublish(stream);
    }
}
