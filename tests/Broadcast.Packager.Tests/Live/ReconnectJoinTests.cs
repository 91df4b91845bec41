using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.Packager.Tests.Manifests;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// An encoder reconnect through the hub and the <see cref="LivePackager"/>: the first publisher sends 5 s (30 fps, a
/// keyframe every 2 s, 48 kHz audio), drops, and 5 s later the same name publishes again with timestamps from 0. The
/// broadcast continues: numbers carry on, the segment in progress at the drop is closed without spanning the gap,
/// one EXT-X-DISCONTINUITY in video and audio before the first new segment, a second DASH Period at the join; once
/// the discontinuity slides out of the window EXT-X-DISCONTINUITY-SEQUENCE counts it. Past the grace: ENDLIST.
/// </summary>
public sealed class ReconnectJoinTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly AudioTrack _audio = TestMedia.Audio();

    public void Dispose() => _dir.Dispose();

    /// <summary>One publisher's media from its own timestamp 0: <paramref name="seconds"/> of video and audio.</summary>
    private void Publish(LiveStream stream, VideoTrack video, int seconds)
    {
        long audioCount = 0;
        for (int i = 0; i < seconds * 30; i++)
        {
            stream.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 400));
            while (audioCount <= (long)Math.Floor(i * 1.6))
                stream.Write(TestMedia.Frame(_audio, audioCount++ * 1024L, true, 20));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_join_continues_the_numbers_after_one_discontinuity_and_a_new_period(bool newResolution)
    {
        var clock = new ManualClock(Start);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        var registry = new LiveStreamRegistry(clock);
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        var log = new ListLogger<LivePackager>();
        await using var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options), clock, log);
        var finished = new TaskCompletionSource<StreamPackagerStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        packager.StreamFinished += s => finished.TrySetResult(s.Status);
        await packager.StartAsync(default);
        string Read(string key) => File.Exists(store.PathOf(key)) ? File.ReadAllText(store.PathOf(key)) : "";
        string Logs()
        {
            lock (log.Lines)
                return string.Join("\n", log.Lines) + "\nfiles: " + string.Join(" ", Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories).Select(Path.GetFileName))
                    + "\n" + Read("chan/source/index.m3u8") + Read("chan/audio/index.m3u8");
        }

        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, TestMedia.Video(1280, 720), 5);
        // Segments 1 and 2 close on the keyframes at 2 s and 4 s; 4..5 s stays open until the join.
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-2.m4s") && Read("chan/audio/index.m3u8").Contains("-2.m4s"), Bound,
            "video and audio to list segment 2", Logs);
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(registry.TryStartPublish("chan", out var again));
        Assert.Same(stream, again);
        var second = newResolution ? TestMedia.Video(1920, 1080, config: [0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x00, 0x01, 0x00, 0x00]) : TestMedia.Video(1280, 720);
        Publish(stream, second, 5);
        // The MPD is written just after the playlists: wait for it to list both new segments too.
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-5.m4s") && Read("chan/audio/index.m3u8").Contains("-5.m4s")
            && TestMedia.CountOf(Read("chan/manifest.mpd"), "r=\"1\"") == 2, Bound, "playlists and MPD to list the segments after the join", Logs);

        string suffix = newResolution ? "-newinit" : "";
        Golden.Verify($"reconnect{suffix}.m3u8", Read("chan/source/index.m3u8"));
        Golden.Verify($"reconnect-audio{suffix}.m3u8", Read("chan/audio/index.m3u8"));
        Golden.Verify($"reconnect{suffix}.mpd", Read("chan/manifest.mpd"));
        var mpd = Read("chan/manifest.mpd");
        Assert.Equal(2, TestMedia.CountOf(mpd, "<Period "));
        Assert.Contains("type=\"dynamic\"", mpd, StringComparison.Ordinal);

        // More media from the same publisher (its stamps go on from 5 s): the discontinuity slides out of the three-segment window and is counted.
        long audioCount = 0;
        for (int i = 150; i < 300; i++)
        {
            stream.Write(TestMedia.Frame(second, i * 3000L, i % 60 == 0, 400));
            while (audioCount <= (long)Math.Floor((i - 150) * 1.6))
                stream.Write(TestMedia.Frame(_audio, (audioCount++ + (long)Math.Floor(150 * 1.6) + 1) * 1024L, true, 20));
        }
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-7.m4s"), Bound, "video to list segment 7", Logs);
        var slid = Read("chan/source/index.m3u8");
        Assert.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n", slid, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", slid, StringComparison.Ordinal);

        // Past the grace the broadcast ends like an unpublish: ENDLIST, static MPD.
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(31));
        await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.EndsWith("#EXT-X-ENDLIST\n", Read("chan/source/index.m3u8"), StringComparison.Ordinal);
        Assert.Contains("type=\"static\"", Read("chan/manifest.mpd"), StringComparison.Ordinal);
    }
}
