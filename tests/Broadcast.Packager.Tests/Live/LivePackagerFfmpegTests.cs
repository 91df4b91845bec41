using Broadcast.TestSupport;
using System.Text.Json;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.Packager.Tests.Cmaf;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// End to end through the real pieces: an ffmpeg-made FLV is parsed, published into a LiveStream, packaged by
/// <see cref="LivePackager"/> into a filesystem store, and the manifests on disk are opened by ffprobe.
/// </summary>
[Trait("Kind", "Component")]
public sealed class LivePackagerFfmpegTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Ffmpeg_flv_through_the_packager_plays_in_ffprobe_as_hls_and_dash()
    {
        string flv = _dir.Combine("in.flv");
        MediaTools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "7", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", flv);
        var tags = FlvTestFile.Parse(await File.ReadAllBytesAsync(flv));

        var avcC = tags.First(t => t.IsVideo && t.IsSequenceHeader).Payload;
        var video = new VideoTrack(Codec.H264, avcC, $"avc1.{avcC[1]:x2}{avcC[2]:x2}{avcC[3]:x2}", 320, 240, frameRate: new FrameRate(30, 1));
        var audio = new AudioTrack(Codec.Aac, tags.First(t => !t.IsVideo && t.IsSequenceHeader).Payload, "mp4a.40.2", 48000, 1);

        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, RecordByDefault = true };
        var registry = new LiveStreamRegistry();
        var log = new ListLogger<LivePackager>();
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        await using var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
            TimeProvider.System, log);
        var finished = new TaskCompletionSource<StreamPackagerStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        packager.StreamFinished += s => finished.TrySetResult(s.Status);
        var manifests = new List<string>();
        packager.ManifestUpdated += m => { lock (manifests) manifests.Add(m.Key); };
        await packager.StartAsync(default);

        Assert.True(registry.TryStartPublish("chan", out var stream));
        stream.SetTrack(video);
        stream.SetTrack(audio);
        foreach (var tag in tags.Where(t => !t.IsSequenceHeader))
        {
            var frame = tag.IsVideo
                ? MediaFrame.Rent(video, tag.TimestampMs * 90, tag.CompositionTimeMs * 90, tag.IsKeyframe, tag.Payload)
                : MediaFrame.Rent(audio, Timescales.Rescale(tag.TimestampMs, 1000, 48000), 0, true, tag.Payload);
            stream.Write(frame);
        }
        registry.EndPublish(stream);
        var done = await Task.WhenAny(finished.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == finished.Task, "packaging did not finish: " + string.Join("\n", log.Lines));
        var status = await finished.Task;

        Assert.True(status.Ended);
        Assert.True(status.SegmentsWritten >= 6, $"only {status.SegmentsWritten} segments");
        Assert.Empty(status.Warnings);
        Assert.Contains("chan/master.m3u8", manifests);

        string root = store.Root;
        string sourcePlaylist = await File.ReadAllTextAsync(Path.Combine(root, "chan", "source", "index.m3u8"));
        Assert.EndsWith("#EXT-X-ENDLIST\n", sourcePlaylist, StringComparison.Ordinal);
        Assert.Contains("#EXTINF:2.000,", sourcePlaylist, StringComparison.Ordinal);
        string master = await File.ReadAllTextAsync(Path.Combine(root, "chan", "master.m3u8"));
        Assert.Contains($"CODECS=\"{video.CodecString},mp4a.40.2\",RESOLUTION=320x240,FRAME-RATE=30.000", master, StringComparison.Ordinal);

        // Every segment a manifest names exists on disk (the recording keeps them all).
        foreach (var line in sourcePlaylist.Split('\n').Where(l => l.EndsWith(".m4s", StringComparison.Ordinal)))
            Assert.True(File.Exists(Path.Combine(root, "chan", "source", line)), line);

        AssertStreams(Probe(Path.Combine(root, "chan", "master.m3u8")), "video", "audio");
        AssertStreams(Probe(Path.Combine(root, "chan", "source", "index.m3u8")), "video");
        AssertStreams(Probe(Path.Combine(root, "chan", "manifest.mpd")), "video", "audio");
        var broadcast = status.BroadcastId;
        AssertStreams(Probe(Path.Combine(root, "chan", "recordings", broadcast, "master.m3u8")), "video", "audio");
        AssertStreams(Probe(Path.Combine(root, "chan", "recordings", broadcast, "manifest.mpd")), "video", "audio");
    }

    private static JsonDocument Probe(string path) =>
        JsonDocument.Parse(MediaTools.Run("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path));

    private static void AssertStreams(JsonDocument probe, params string[] kinds)
    {
        using (probe)
        {
            var streams = probe.RootElement.GetProperty("streams").EnumerateArray().ToList();
            foreach (var kind in kinds)
                Assert.Contains(streams, s => s.GetProperty("codec_type").GetString() == kind);
            var v = streams.FirstOrDefault(s => s.GetProperty("codec_type").GetString() == "video");
            if (v.ValueKind != JsonValueKind.Undefined)
            {
                Assert.Equal("h264", v.GetProperty("codec_name").GetString());
                Assert.Equal(320, v.GetProperty("width").GetInt32());
            }
            var a = streams.FirstOrDefault(s => s.GetProperty("codec_type").GetString() == "audio");
            if (a.ValueKind != JsonValueKind.Undefined) Assert.Equal("aac", a.GetProperty("codec_name").GetString());
        }
    }
}
