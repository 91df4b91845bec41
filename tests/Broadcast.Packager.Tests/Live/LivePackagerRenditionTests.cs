using Broadcast.TestSupport;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// <see cref="LivePackager"/> with transcoded renditions from an <see cref="IRenditionSource"/>: the ladder without a
/// <c>source</c> entry (passthrough off) and a rung that ends while its source is still live (shed).
/// Synthetic frames at 30 fps with a keyframe every 2 s, 48 kHz audio; the rung carries the source's timestamps,
/// as the transcoder's rungs do.
/// </summary>
public sealed class LivePackagerRenditionTests : IDisposable
{
    private const int Gop = 60;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly VideoTrack _sourceTrack = TestMedia.Video(1280, 720);
    private readonly VideoTrack _rungTrack = TestMedia.Video(640, 360);
    private readonly AudioTrack _audio = TestMedia.Audio();
    private long _audioCount;

    public void Dispose() => _dir.Dispose();

    private sealed record Rig(LivePackager Packager, LiveStreamRegistry Registry, FileSystemSegmentStore Store, ListLogger<LivePackager> Log,
        TaskCompletionSource<StreamPackagerStatus> Finished) : IAsyncDisposable
    {
        public string Read(string key) => File.ReadAllText(Store.PathOf(key));

        public bool Exists(string key) => File.Exists(Store.PathOf(key));

        public string Logs { get { lock (Log.Lines) return string.Join("\n", Log.Lines); } }

        public ValueTask DisposeAsync() => Packager.DisposeAsync();
    }

    private async Task<Rig> StartAsync(Func<LiveStream, IReadOnlyList<KeyValuePair<string, LiveStream>>> ladder)
    {
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        var registry = new LiveStreamRegistry();
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        var log = new ListLogger<LivePackager>();
        var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
            TimeProvider.System, log, new DelegateRenditionSource((s, _) => Task.FromResult(ladder(s))));
        var finished = new TaskCompletionSource<StreamPackagerStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        packager.StreamFinished += s => finished.TrySetResult(s.Status);
        await packager.StartAsync(default);
        return new Rig(packager, registry, store, log, finished);
    }

    /// <summary>Writes source (and rung) frames [from, to) plus the audio up to them.</summary>
    private void Feed(LiveStream source, LiveStream? rung, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            source.Write(TestMedia.Frame(_sourceTrack, i * 3000L, i % Gop == 0, 400));
            rung?.Write(TestMedia.Frame(_rungTrack, i * 3000L, i % Gop == 0, 100));
            while (_audioCount <= (long)Math.Floor(i * 1.6))
                source.Write(TestMedia.Frame(_audio, _audioCount++ * 1024L, true, 20));
        }
    }

    /// <summary>
    /// Starts publishing: the rung's first GOP is written first (it waits in the rung's GOP cache), then the source's
    /// first frames, which make the packager ask for the ladder and open the rung's reader before it shows the stream.
    /// </summary>
    private static async Task<LiveStream> PublishAsync(Rig rig, Action<LiveStream> firstFrames)
    {
        Assert.True(rig.Registry.TryStartPublish("chan", out var source));
        firstFrames(source);
        await WaitFor.ConditionAsync(() => rig.Packager.Find("chan") is not null, Bound, "packaging to start", () => rig.Logs);
        return source;
    }

    [Fact]
    public async Task Without_a_source_entry_the_source_video_is_not_packaged_and_the_top_rung_leads()
    {
        var rung = new LiveStream("chan/360p");
        await using var rig = await StartAsync(_ => [new("360p", rung)]);
        for (int i = 0; i < Gop; i++) rung.Write(TestMedia.Frame(_rungTrack, i * 3000L, i == 0, 100));
        var source = await PublishAsync(rig, s => Feed(s, null, 0, 1));
        Feed(source, null, 1, Gop);
        Feed(source, rung, Gop, 8 * 30);
        rig.Registry.EndPublish(source);
        rung.Complete();
        var done = await Task.WhenAny(rig.Finished.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == rig.Finished.Task, "packaging did not finish: " + rig.Logs);

        Assert.False(Directory.Exists(Path.Combine(rig.Store.Root, "chan", "source")), "the source's video was packaged");
        string master = rig.Read("chan/master.m3u8");
        Assert.Contains("\n360p/index.m3u8\n", master, StringComparison.Ordinal);
        Assert.Contains("RESOLUTION=640x360", master, StringComparison.Ordinal);
        Assert.DoesNotContain("source", master, StringComparison.Ordinal);
        Assert.Contains("URI=\"audio/index.m3u8\"", master, StringComparison.Ordinal); // the source's audio is still served
        Assert.Equal(1, master.Split('\n').Count(l => l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal)));
        string mpd = rig.Read("chan/manifest.mpd");
        Assert.Contains("<Representation id=\"360p\"", mpd, StringComparison.Ordinal);
        Assert.Contains("<Representation id=\"audio\"", mpd, StringComparison.Ordinal);
        Assert.DoesNotContain("source", mpd, StringComparison.Ordinal);
        // The rung leads the cuts: 8 s of media in 2 s segments, audio cut on the same numbers.
        string rungPlaylist = rig.Read("chan/360p/index.m3u8");
        Assert.EndsWith("#EXT-X-ENDLIST\n", rungPlaylist, StringComparison.Ordinal);
        Assert.Contains("#EXTINF:2.000,", rungPlaylist, StringComparison.Ordinal);
        Assert.Contains("-4.m4s\n", rig.Read("chan/audio/index.m3u8"), StringComparison.Ordinal);
        Assert.Contains("passthrough off", rig.Logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rung_that_ends_while_the_source_is_live_leaves_the_master_and_the_mpd()
    {
        var rung = new LiveStream("chan/360p");
        await using var rig = await StartAsync(s => [new("source", s), new("360p", rung)]);
        for (int i = 0; i < Gop; i++) rung.Write(TestMedia.Frame(_rungTrack, i * 3000L, i == 0, 100));
        var source = await PublishAsync(rig, s => Feed(s, null, 0, 1));
        Feed(source, null, 1, Gop);
        Feed(source, rung, Gop, 6 * 30 + 1);
        // The master and the MPD are written by separate listeners, one after the other: wait for both.
        await WaitFor.ConditionAsync(() => rig.Exists("chan/master.m3u8") && rig.Read("chan/master.m3u8").Contains("360p/index.m3u8", StringComparison.Ordinal)
            && rig.Exists("chan/manifest.mpd") && rig.Read("chan/manifest.mpd").Contains("<Representation id=\"360p\"", StringComparison.Ordinal),
            Bound, "the rung to reach the master and the MPD", () => rig.Logs);

        rung.Complete(); // shed: the transcoder stops the rung, the source goes on
        // The feed logs the shed rung after the manifests without it are stored: wait for the line too.
        await WaitFor.ConditionAsync(() => !rig.Read("chan/master.m3u8").Contains("360p", StringComparison.Ordinal)
            && !rig.Read("chan/manifest.mpd").Contains("360p", StringComparison.Ordinal)
            && rig.Logs.Contains("removed from the master playlist and the MPD", StringComparison.Ordinal), Bound,
            "the shed rung to leave the master and the MPD, and its log line", () => rig.Logs);
        Assert.EndsWith("#EXT-X-ENDLIST\n", rig.Read("chan/360p/index.m3u8"), StringComparison.Ordinal);
        Assert.DoesNotContain("360p", rig.Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.Contains("renditions 360p stopped", string.Join(";", rig.Packager.Find("chan")!.Warnings), StringComparison.Ordinal);
        Assert.Contains("removed from the master playlist and the MPD", rig.Logs, StringComparison.Ordinal);

        Feed(source, null, 6 * 30 + 1, 12 * 30);
        rig.Registry.EndPublish(source);
        var done = await Task.WhenAny(rig.Finished.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == rig.Finished.Task, "packaging did not finish: " + rig.Logs);
        string master = rig.Read("chan/master.m3u8");
        Assert.DoesNotContain("360p", master, StringComparison.Ordinal);
        Assert.Contains("\nsource/index.m3u8\n", master, StringComparison.Ordinal);
        Assert.DoesNotContain("360p", rig.Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.Contains("-6.m4s\n", rig.Read("chan/source/index.m3u8"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_aac_audio_is_left_out_instead_of_failing_the_broadcast()
    {
        // Ingest accepts only AAC today; should another codec ever arrive un-transcoded, the video is still served.
        var mp3 = new AudioTrack(Codec.Mp3, ReadOnlyMemory<byte>.Empty, "mp4a.40.34", 44100, 2);
        await using var rig = await StartAsync(_ => []);
        Assert.True(rig.Registry.TryStartPublish("chan", out var source));
        for (int i = 0; i < 6 * 30; i++)
        {
            source.Write(TestMedia.Frame(_sourceTrack, i * 3000L, i % Gop == 0, 400));
            source.Write(TestMedia.Frame(mp3, i * 1470L, true, 50));
        }
        rig.Registry.EndPublish(source);
        var done = await Task.WhenAny(rig.Finished.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == rig.Finished.Task, "packaging did not finish: " + rig.Logs);
        Assert.DoesNotContain("failed", rig.Logs, StringComparison.OrdinalIgnoreCase);
        string master = rig.Read("chan/master.m3u8");
        Assert.Contains("\nsource/index.m3u8\n", master, StringComparison.Ordinal);
        Assert.DoesNotContain("audio", master, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(rig.Store.Root, "chan", "audio")));
    }
}
