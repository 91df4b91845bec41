using Broadcast.TestSupport;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.Packager.Tests.Cmaf;

namespace Broadcast.Packager.Tests.Live;

public sealed class StreamPackagerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task FeedAsync(StreamPackager p, ManualClock time, int seconds, int videoFrameBytes = 500)
    {
        var video = TestMedia.Video();
        var audio = TestMedia.Audio();
        for (int n = 0; n < seconds * 30; n++)
        {
            int i = _videoCount++;
            await p.PushVideoAsync(0, TestMedia.Frame(video, i * 3000L, i % 60 == 0, videoFrameBytes), default);
            // 1.6 AAC frames per video frame at 48 kHz.
            while (true)
            {
                long next = (long)Math.Floor(i * 1.6);
                if (_audioCount > next) break;
                await p.PushAudioAsync(TestMedia.Frame(audio, _audioCount * 1024L, true, 20), default);
                _audioCount++;
            }
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
    }

    private long _audioCount;
    private int _videoCount;

    /// <summary>The first variant's BANDWIDTH in a master playlist.</summary>
    private static long Bandwidth(string master) => long.Parse(System.Text.RegularExpressions.Regex.Match(master, "BANDWIDTH=([0-9]+)").Groups[1].Value,
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The first master measures one segment; a live broadcast's later segments can be larger (a scene with motion). A
    /// peak more than a tenth above the declared BANDWIDTH rewrites the master (RFC 8216 section 4.3.4.2: the peak),
    /// a smaller rise or a steady stream does not, so the master is written a handful of times, not every segment.
    /// </summary>
    [Fact]
    public async Task A_peak_that_outgrows_the_master_s_bandwidth_rewrites_it_and_a_steady_stream_does_not()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time);
        var masters = new List<string>();
        p.ManifestUpdated += m =>
        {
            if (m.Key == StoreKeys.Master("chan")) masters.Add(File.ReadAllText(store.PathOf(m.Key)));
        };

        // Phases of whole segments (a keyframe every 2 s), so that no segment mixes two frame sizes.
        await FeedAsync(p, time, 8);
        Assert.Single(masters);
        long first = Bandwidth(masters[0]);

        // 5 % larger frames: within the tolerance, the master stands.
        await FeedAsync(p, time, 6, videoFrameBytes: 525);
        Assert.Single(masters);

        // Four times larger: the master is written again, declaring at least the new peak.
        await FeedAsync(p, time, 6, videoFrameBytes: 2000);
        Assert.Equal(2, masters.Count);
        long second = Bandwidth(masters[1]);
        Assert.True(second > first * 3, $"BANDWIDTH {first} -> {second}");
        long peak = p.VideoTimelines.Single().PeakBitrate;
        Assert.True(second >= peak, $"BANDWIDTH {second} below the video's measured peak {peak}");

        // As large again: nothing new to declare.
        await FeedAsync(p, time, 6, videoFrameBytes: 2000);
        Assert.Equal(2, masters.Count);
    }

    /// <summary>
    /// At the end the master is stored before any media playlist says EXT-X-ENDLIST, so a reader that sees the end reads
    /// the master of the whole broadcast, not the live one whose BANDWIDTH measured fewer segments.
    /// </summary>
    [Fact]
    public async Task The_ended_master_is_stored_before_the_ended_media_playlists()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time);
        var written = new List<string>();
        p.ManifestUpdated += m => written.Add(m.Key);
        await FeedAsync(p, time, 4);
        await FeedAsync(p, time, 4, videoFrameBytes: 540); // 8 % larger: within the tolerance, the live master stands
        written.Clear();

        await p.CompleteAsync(default);

        string master = StoreKeys.Master("chan");
        int masterAt = written.IndexOf(master);
        Assert.True(masterAt >= 0, string.Join(", ", written));
        var playlists = written.Select((key, at) => (key, at)).Where(w => w.key.EndsWith("/index.m3u8", StringComparison.Ordinal)).ToList();
        Assert.Contains(playlists, w => w.key.StartsWith("chan/source/", StringComparison.Ordinal));
        Assert.Contains(playlists, w => w.key.StartsWith("chan/audio/", StringComparison.Ordinal));
        Assert.All(playlists, w => Assert.True(w.at > masterAt, string.Join(", ", written)));
        long declared = Bandwidth(File.ReadAllText(store.PathOf(master)));
        long peak = p.VideoTimelines.Single().PeakBitrate + p.AudioTimeline!.PeakBitrate;
        Assert.Equal(peak, declared);
    }

    /// <summary>
    /// A caption service found after the master playlist went out: the master is rewritten at once with the
    /// CLOSED-CAPTIONS rendition, the next MPD has the Accessibility descriptor, and the recording declares them too.
    /// </summary>
    [Fact]
    public async Task Captions_found_late_rewrite_the_master_and_stay_declared()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan", Record = true }, store, options, time);
        var masters = new List<string>();
        p.ManifestUpdated += m =>
        {
            if (m.Key == StoreKeys.Master("chan")) masters.Add(File.ReadAllText(store.PathOf(m.Key)));
        };

        await FeedAsync(p, time, 5);
        Assert.Single(masters);
        Assert.Contains("CLOSED-CAPTIONS=NONE", masters[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Accessibility", await File.ReadAllTextAsync(store.PathOf(StoreKeys.Mpd("chan"))), StringComparison.Ordinal);

        await p.DeclareCaptionsAsync(default);
        Assert.True(p.Captions);
        Assert.Equal(2, masters.Count);
        Assert.Contains("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"English\",LANGUAGE=\"en\",INSTREAM-ID=\"CC1\",DEFAULT=YES,AUTOSELECT=YES\n", masters[1], StringComparison.Ordinal);
        Assert.Contains(",CLOSED-CAPTIONS=\"cc\"\n", masters[1], StringComparison.Ordinal);
        Assert.Contains("<Accessibility schemeIdUri=\"urn:scte:dash:cc:cea-608:2015\" value=\"CC1=eng\"/>", await File.ReadAllTextAsync(store.PathOf(StoreKeys.Mpd("chan"))), StringComparison.Ordinal);
        await p.DeclareCaptionsAsync(default);
        Assert.Equal(2, masters.Count); // once is enough

        await FeedAsync(p, time, 3);
        await p.CompleteAsync(default);
        Assert.All(masters[1..], m => Assert.Contains(",CLOSED-CAPTIONS=\"cc\"", m, StringComparison.Ordinal));
        Assert.Contains(",CLOSED-CAPTIONS=\"cc\"", await File.ReadAllTextAsync(store.PathOf(StoreKeys.RecordingMaster("chan", p.BroadcastId))), StringComparison.Ordinal);
        Assert.Contains("CC1=eng", await File.ReadAllTextAsync(store.PathOf(StoreKeys.RecordingMpd("chan", p.BroadcastId))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Segments_that_leave_the_window_are_deleted_after_the_grace_period_and_manifests_follow_segments()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time);
        Assert.Equal("20261121T054512Z", p.BroadcastId);
        var events = new List<string>();
        p.SegmentClosed += s => events.Add($"segment {s.Rendition} {s.Number}");
        p.ManifestUpdated += m =>
        {
            events.Add("manifest " + m.Key);
            // Ordering rule: every segment a playlist names is already in the store.
            if (!m.Key.EndsWith("index.m3u8", StringComparison.Ordinal)) return;
            var text = File.ReadAllText(store.PathOf(m.Key));
            foreach (var line in text.Split('\n').Where(l => l.EndsWith(".m4s", StringComparison.Ordinal)))
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(store.PathOf(m.Key))!, line)), $"{m.Key} names missing {line}");
        };

        await FeedAsync(p, time, 20);
        var first = StoreKeys.Segment("chan", "source", p.BroadcastId, 1);
        Assert.False(File.Exists(store.PathOf(first))); // left the window > 4 s ago
        Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", p.BroadcastId, 6))));
        Assert.True(File.Exists(store.PathOf(StoreKeys.Init("chan", "source", p.BroadcastId, 0))));
        var master = await store.GetAsync("chan/master.m3u8", default);
        Assert.Equal("public, max-age=1", master!.CacheControl);
        var seg = await store.GetAsync(StoreKeys.Segment("chan", "audio", p.BroadcastId, 8), default);
        Assert.Equal(CachePolicies.Immutable, seg!.CacheControl);
        Assert.Equal("audio/mp4", seg.ContentType);

        await p.CompleteAsync(default);
        var status = p.Status;
        Assert.True(status.Ended);
        Assert.Equal(2, status.TargetDurationSeconds);
        Assert.Equal(20, status.SegmentsWritten); // 10 video + 10 audio
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.EndsWith("#EXT-X-ENDLIST\n", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:8\n", playlist, StringComparison.Ordinal);
        string mpd = await File.ReadAllTextAsync(store.PathOf("chan/manifest.mpd"));
        Assert.Contains("type=\"static\"", mpd, StringComparison.Ordinal);
        Assert.DoesNotContain("minimumUpdatePeriod", mpd, StringComparison.Ordinal);
        Assert.False(File.Exists(store.PathOf(StoreKeys.VodPlaylist("chan", "source", p.BroadcastId)))); // not recorded
        Assert.True(events.IndexOf("segment source 1") < events.IndexOf("manifest chan/source/index.m3u8"));
    }

    /// <summary>
    /// A broadcast's rewind window (the channel's, over <c>Packager:DvrSeconds</c>): its live playlist and MPD reach back
    /// that far, with delta updates and timeShiftBufferDepth, and retention keeps every segment they name; past it, the
    /// window slides and the oldest segments go after the grace period. A rewind window of 0 keeps only the live window,
    /// whatever the server's default.
    /// </summary>
    [Fact]
    public async Task A_rewind_window_keeps_the_broadcast_in_the_live_manifests_until_it_slides_past_it()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 27, 2, 0, 0, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4, DvrSeconds = 0 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan", RewindSeconds = 30 }, store, options, time);

        string deltaKey = StoreKeys.MediaPlaylistDelta("chan", "source");
        await FeedAsync(p, time, 6);
        Assert.False(File.Exists(store.PathOf(deltaKey))); // nothing to skip yet
        await FeedAsync(p, time, 14);
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:1\n", playlist, StringComparison.Ordinal);
        // Its delta update is stored beside it, for the origin to serve as it is.
        Assert.Equal(Broadcast.Packager.Manifests.LowLatencyPlaylist.ToDeltaUpdate(playlist), await File.ReadAllTextAsync(store.PathOf(deltaKey)));
        Assert.Contains("#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.0\n", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-VERSION:9\n", playlist, StringComparison.Ordinal);
        Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", p.BroadcastId, 1))));
        Assert.NotNull(Broadcast.Packager.Manifests.LowLatencyPlaylist.ToDeltaUpdate(playlist));
        string mpd = await File.ReadAllTextAsync(store.PathOf("chan/manifest.mpd"));
        Assert.Contains("timeShiftBufferDepth=\"PT30S\"", mpd, StringComparison.Ordinal);
        Assert.Contains("startNumber=\"1\"", mpd, StringComparison.Ordinal);

        // 44 s in: the window holds the last 30 s; what left it more than the grace period ago is deleted.
        await FeedAsync(p, time, 24);
        playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        long sequence = long.Parse(System.Text.RegularExpressions.Regex.Match(playlist, @"#EXT-X-MEDIA-SEQUENCE:(\d+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(sequence, 6, 9);
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", p.BroadcastId, 1))));
        Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", p.BroadcastId, sequence))));
        // The status says the window it runs under and the space it keeps: the bytes of every segment its playlists name.
        Assert.Equal(30, p.Status.RewindSeconds);
        Assert.Equal(NamedSegmentBytes(store, "source") + NamedSegmentBytes(store, StoreKeys.AudioRendition), p.Status.KeptBytes);

        // Ended: the playlist has no delta updates, and the stored one goes.
        await p.CompleteAsync(default);
        Assert.False(File.Exists(store.PathOf(deltaKey)));
        Assert.Contains("#EXT-X-ENDLIST", await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8")), StringComparison.Ordinal);
    }

    private static long NamedSegmentBytes(FileSystemSegmentStore store, string rendition) =>
        File.ReadAllLines(store.PathOf($"chan/{rendition}/index.m3u8"))
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Sum(uri => new FileInfo(store.PathOf($"chan/{rendition}/{uri}")).Length);

    [Fact]
    public async Task A_rewind_window_of_zero_keeps_only_the_live_window_whatever_the_server_default()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 27, 2, 0, 0, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DvrSeconds = 600 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan", RewindSeconds = 0 }, store, options, time);
        await FeedAsync(p, time, 20);
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.DoesNotContain("#EXT-X-SERVER-CONTROL", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:7\n", playlist, StringComparison.Ordinal);
        string mpd = await File.ReadAllTextAsync(store.PathOf("chan/manifest.mpd"));
        Assert.Contains("timeShiftBufferDepth=\"PT6S\"", mpd, StringComparison.Ordinal);
        Assert.Equal(0, p.Status.RewindSeconds);
        Assert.Equal(NamedSegmentBytes(store, "source") + NamedSegmentBytes(store, StoreKeys.AudioRendition), p.Status.KeptBytes);
    }

    [Fact]
    public async Task A_retired_rendition_ends_its_playlist_and_leaves_the_master_and_the_mpd()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4 };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan", VideoRenditions = [StoreKeys.SourceRendition, "360p"] }, store, options,
            time);
        var ladder = new LadderFeed(p, time, TestMedia.Video(), TestMedia.Video(640, 360));
        Task Feed(int from, int to, bool withLow) => ladder.FeedAsync(from, to, withLow ? 2 : 1);
        string Read(string key) => File.ReadAllText(store.PathOf(key));

        await Feed(0, 8 * 30, withLow: true);
        Assert.Contains("360p/index.m3u8", Read("chan/master.m3u8"), StringComparison.Ordinal);
        Assert.Contains("<Representation id=\"360p\"", Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-ENDLIST", Read("chan/360p/index.m3u8"), StringComparison.Ordinal);

        Assert.True(await p.RetireVideoAsync(1, default));
        Assert.False(await p.RetireVideoAsync(1, default)); // once
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => p.RetireVideoAsync(0, default)); // the leader times audio
        string ended = Read("chan/360p/index.m3u8");
        Assert.EndsWith("#EXT-X-ENDLIST\n", ended, StringComparison.Ordinal);
        Assert.DoesNotContain("360p", Read("chan/master.m3u8"), StringComparison.Ordinal);
        Assert.Contains("source/index.m3u8", Read("chan/master.m3u8"), StringComparison.Ordinal);
        Assert.DoesNotContain("360p", Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.Contains("renditions 360p stopped", string.Join(";", p.Status.Warnings), StringComparison.Ordinal);

        // The stream goes on without it: the source keeps growing, the retired playlist stays as it ended.
        string sourceBefore = Read("chan/source/index.m3u8");
        await Feed(8 * 30, 14 * 30, withLow: false);
        Assert.NotEqual(sourceBefore, Read("chan/source/index.m3u8"));
        Assert.Equal(ended, Read("chan/360p/index.m3u8"));
        Assert.DoesNotContain("360p", Read("chan/manifest.mpd"), StringComparison.Ordinal);

        await p.CompleteAsync(default);
        Assert.DoesNotContain("360p", Read("chan/master.m3u8"), StringComparison.Ordinal);
        Assert.DoesNotContain("360p", Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.False(await p.RetireVideoAsync(1, default));
    }
}
