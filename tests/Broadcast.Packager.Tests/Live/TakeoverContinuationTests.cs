using System.Collections.Concurrent;
using System.Text;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// A node takes a channel over after the node packaging it died (no ENDLIST, nothing ended): two
/// <see cref="LivePackager"/>s with their own hubs share one store, as two ingest nodes share S3. The first packages
/// 5 s (segments 1 and 2 stored, 4..5 s open) and is abandoned; 5 s later the second, asked to prepare the channel's
/// publish, finds the stored live state and its publish (timestamps from 0) continues the broadcast: same id, the
/// restored window, numbers on from 3 after one EXT-X-DISCONTINUITY, a new DASH Period with the first Period's id,
/// start and the availabilityStartTime kept, media time placed after the stored media plus the time away.
/// Outside the grace, with an ended or a malformed state, a new broadcast starts.
/// </summary>
public sealed class TakeoverContinuationTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly AudioTrack _audio = TestMedia.Audio();
    private readonly ManualClock _clock = new(Start);
    private readonly PackagerOptions _options = new() { SegmentSeconds = 2, WindowSegments = 3 };
    private readonly FileSystemSegmentStore _store;
    private readonly ListLogger<LivePackager> _log = new();

    public TakeoverContinuationTests() => _store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));

    public void Dispose() => _dir.Dispose();

    private void Publish(LiveStream stream, int seconds, int fromSecond = 0, int width = 1280, int height = 720)
    {
        var video = TestMedia.Video(width, height);
        long audioCount = (long)Math.Floor(fromSecond * 30 * 1.6) + 1;
        if (fromSecond == 0) audioCount = 0;
        for (int i = fromSecond * 30; i < (fromSecond + seconds) * 30; i++)
        {
            stream.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 400));
            while (audioCount <= (long)Math.Floor(i * 1.6))
                stream.Write(TestMedia.Frame(_audio, audioCount++ * 1024L, true, 20));
        }
    }

    /// <summary>A node's packager over the shared store, started.</summary>
    private async Task<LivePackager> NodeAsync(LiveStreamRegistry registry, bool lowLatency = false, bool record = false, ISegmentStore? store = null,
        IContentProtectionPolicy? protection = null)
    {
        var node = new LivePackager(registry, store ?? _store, new DefaultRecordingPolicy(Options.Create(new PackagerOptions { RecordByDefault = record })),
            Options.Create(_options), _clock, _log,
            lowLatency: lowLatency ? new DefaultLowLatencyPolicy(Options.Create(new PackagerOptions { LowLatencyByDefault = true })) : null,
            protection: protection);
        await node.StartAsync(default);
        return node;
    }

    /// <summary>5 s published on <paramref name="node"/> and ended there; returns once its packaging finished (recording and all).</summary>
    private async Task PublishToTheEndAsync(LivePackager node, LiveStreamRegistry registry)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.StreamFinished += _ => finished.TrySetResult();
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, 5);
        registry.EndPublish(stream);
        await finished.Task.WaitAsync(Bound);
    }

    private string Read(string key) => File.Exists(_store.PathOf(key)) ? File.ReadAllText(_store.PathOf(key)) : "";

    private string Logs()
    {
        lock (_log.Lines)
            return string.Join("\n", _log.Lines) + "\n" + Read("chan/source/index.m3u8") + Read("chan/audio/index.m3u8") + Read("chan/manifest.mpd");
    }

    /// <summary>A node takes the channel over: the publish it authorises continues <paramref name="id"/>; 5 s of media from timestamp 0.</summary>
    private async Task<LivePackager> ContinueOnNewNodeAsync(string id, bool lowLatency = false, int width = 1280, int height = 720)
    {
        var registry = new LiveStreamRegistry(_clock);
        var node = await NodeAsync(registry, lowLatency);
        Assert.Equal(id, await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, 5, width: width, height: height);
        return node;
    }

    /// <summary>Node A packages 5 s and dies: segments 1 and 2 and the live state are stored, nothing ended.</summary>
    private async Task<(LivePackager Node, string BroadcastId)> DeadNodeAsync(bool lowLatency = false)
    {
        var registry = new LiveStreamRegistry(_clock);
        var node = await NodeAsync(registry, lowLatency);
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, 5);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-2.m4s") && Read("chan/audio/index.m3u8").Contains("-2.m4s")
            && Read("chan/live-state.json").Contains("\"number\":2", StringComparison.Ordinal) && Read("chan/manifest.mpd").Contains("<Period"),
            Bound, "node A to store segment 2 and its live state", Logs);
        string id = node.Find("chan")!.BroadcastId;
        return (node, id);
    }

    [Fact]
    public async Task A_publish_on_another_node_within_the_grace_continues_the_same_broadcast()
    {
        var (deadNode, id) = await DeadNodeAsync();
        string mpdBefore = Read("chan/manifest.mpd");
        _clock.Advance(TimeSpan.FromSeconds(5));

        await using var node = await ContinueOnNewNodeAsync(id);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-4.m4s") && Read("chan/audio/index.m3u8").Contains("-4.m4s")
            && Read("chan/manifest.mpd").Contains($"{id}-init-1.mp4", StringComparison.Ordinal), Bound, "node B to list segment 4", Logs);

        Assert.Equal(id, node.Find("chan")!.BroadcastId);
        foreach (var rendition in new[] { "source", "audio" })
        {
            string playlist = Read($"chan/{rendition}/index.m3u8");
            // The window keeps the dead node's segment 2; 3 follows after one discontinuity with a new init segment.
            Assert.Contains("#EXT-X-MEDIA-SEQUENCE:2\n", playlist, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n", playlist, StringComparison.Ordinal);
            Assert.Equal(1, TestMedia.CountOf(playlist, "#EXT-X-DISCONTINUITY\n"));
            int join = playlist.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
            Assert.True(join > playlist.IndexOf($"{id}-2.m4s", StringComparison.Ordinal) && join < playlist.IndexOf($"{id}-3.m4s", StringComparison.Ordinal), playlist);
            Assert.Contains($"#EXT-X-MAP:URI=\"{id}-init.mp4\"", playlist, StringComparison.Ordinal);
            Assert.Contains($"#EXT-X-MAP:URI=\"{id}-init-1.mp4\"", playlist, StringComparison.Ordinal);
            Assert.True(File.Exists(_store.PathOf($"chan/{rendition}/{id}-init-1.mp4")));
        }

        // DASH: the availability start and the first Period (id, start) as the dead node wrote them, a second Period at the join.
        string mpd = Read("chan/manifest.mpd");
        Assert.Equal(Attribute(mpdBefore, "availabilityStartTime"), Attribute(mpd, "availabilityStartTime"));
        Assert.Contains("<Period id=\"p0\" start=\"PT0S\">", mpd, StringComparison.Ordinal);
        Assert.Contains("<Period id=\"p1\"", mpd, StringComparison.Ordinal);
        Assert.Equal(2, TestMedia.CountOf(mpd, "<Period "));

        // The new media lies after the stored media plus the time away: segment 2 (the last stored) ends at 4 s of media
        // and of wall clock (the dead node's 4..5 s were never stored), the publish comes at 5 s: 1 s away (90 kHz).
        var state = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(Read("chan/live-state.json")), out string? error);
        Assert.True(state is not null, error);
        var source = state.Renditions.Single(r => r.Name == "source");
        var two = source.Segments.Single(s => s.Number == 2);
        var three = source.Segments.Single(s => s.Number == 3);
        Assert.Equal(two.Start + two.Duration + 90_000, three.Start);
        Assert.True(three.Discontinuity);
        Assert.Equal(1, source.LastInitVersion);
        Assert.Equal(two.ProgramDateTime + TimeSpan.FromSeconds(3), three.ProgramDateTime);
        Assert.Contains(_log.Lines, l => l.Contains($"broadcast {id} continues here", StringComparison.Ordinal));
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task The_dead_nodes_segments_keep_their_own_description_when_the_new_encoder_differs()
    {
        var (deadNode, id) = await DeadNodeAsync();
        _clock.Advance(TimeSpan.FromSeconds(5));

        // A backup encoder at 1080p takes over a 720p broadcast.
        await using var node = await ContinueOnNewNodeAsync(id, width: 1920, height: 1080);
        await WaitFor.ConditionAsync(() => Read("chan/manifest.mpd").Contains($"{id}-init-1.mp4", StringComparison.Ordinal)
            && Read("chan/live-state.json").Contains("\"number\":4,", StringComparison.Ordinal), Bound, "node B to list segment 4", Logs);

        // The dead node's Period still says 1280x720; the new one 1920x1080.
        string mpd = Read("chan/manifest.mpd");
        int second = mpd.IndexOf("<Period id=\"p1\"", StringComparison.Ordinal);
        Assert.True(second > 0, mpd);
        Assert.Contains("width=\"1280\" height=\"720\"", mpd[..second], StringComparison.Ordinal);
        Assert.Contains("width=\"1920\" height=\"1080\"", mpd[second..], StringComparison.Ordinal);
        // The state B writes keeps both descriptions, so a third node would restore them as well.
        var state = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(Read("chan/live-state.json")), out string? error);
        Assert.True(state is not null, error);
        var tracks = state.Renditions.Single(r => r.Name == "source").Tracks!;
        Assert.Equal([(0, 1280), (1, 1920)], tracks.Select(t => (t.InitVersion, t.Width)).OrderBy(t => t.InitVersion));
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task A_break_placed_before_the_takeover_stays_marked_and_ends_on_the_new_node()
    {
        var registry = new LiveStreamRegistry(_clock);
        var deadNode = await NodeAsync(registry);
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, 1);
        await WaitFor.ConditionAsync(() => deadNode.Find("chan") is not null, Bound, "node A packaging", Logs);
        // 6 s planned from the 2 s boundary: it begins with segment 2 on node A and is still running when A dies.
        Assert.True(await deadNode.InsertBreakAsync("chan", new SpliceCue(4242, 2 * 90_000, 6 * 90_000, null, "test"), default));
        Publish(stream, 4, fromSecond: 1);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("splice-4242", StringComparison.Ordinal)
            && Read("chan/live-state.json").Contains("\"number\":2,", StringComparison.Ordinal) && Read("chan/live-state.json").Contains("\"eventId\":4242", StringComparison.Ordinal),
            Bound, "node A to mark the break and keep it in its state", Logs);
        string id = deadNode.Find("chan")!.BroadcastId;
        _clock.Advance(TimeSpan.FromSeconds(5));

        // Node B: the break stays marked where A marked it and ends at its planned boundary on B's media (segment 4, 7 s).
        await using var node = await ContinueOnNewNodeAsync(id);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains($"\n{id}-4.m4s", StringComparison.Ordinal)
            && Read("chan/audio/index.m3u8").Contains($"\n{id}-4.m4s", StringComparison.Ordinal), Bound, "node B to list segment 4", Logs);
        foreach (var rendition in new[] { "source", "audio" })
        {
            string playlist = Read($"chan/{rendition}/index.m3u8");
            int outMark = playlist.IndexOf("SCTE35-OUT=", StringComparison.Ordinal), inMark = playlist.IndexOf("SCTE35-IN=", StringComparison.Ordinal);
            Assert.True(outMark > 0 && outMark < playlist.IndexOf($"{id}-2.m4s", StringComparison.Ordinal), playlist);
            Assert.True(inMark > playlist.IndexOf($"{id}-3.m4s", StringComparison.Ordinal) && inMark < playlist.IndexOf($"{id}-4.m4s", StringComparison.Ordinal), playlist);
            Assert.Equal(2, TestMedia.CountOf(playlist, "ID=\"splice-4242\""));
            Assert.Contains("#EXT-X-CUE-IN\n", playlist, StringComparison.Ordinal);
        }
        Assert.Contains("id=\"4242\"", Read("chan/manifest.mpd"), StringComparison.Ordinal);
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task A_continued_broadcast_continues_again_when_its_second_node_dies_too()
    {
        var (deadNode, id) = await DeadNodeAsync();
        string mpdOfA = Read("chan/manifest.mpd");
        _clock.Advance(TimeSpan.FromSeconds(5));
        var nodeB = await ContinueOnNewNodeAsync(id);
        await WaitFor.ConditionAsync(() => Read("chan/live-state.json").Contains("\"number\":4", StringComparison.Ordinal)
            && Read("chan/audio/index.m3u8").Contains("-4.m4s"), Bound, "node B to store segment 4 and its state", Logs);
        string mpdOfB = Read("chan/manifest.mpd");

        // Node B dies as well; node C continues from B's state.
        _clock.Advance(TimeSpan.FromSeconds(5));
        await using var nodeC = await ContinueOnNewNodeAsync(id);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("-6.m4s") && Read("chan/audio/index.m3u8").Contains("-6.m4s")
            && Read("chan/manifest.mpd").Contains($"{id}-init-2.mp4", StringComparison.Ordinal), Bound, "node C to list segment 6", Logs);

        string playlist = Read("chan/source/index.m3u8");
        // Window 4..6: B's join (before 3) left it and is counted; C's join is marked before 5.
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:4\n", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n", playlist, StringComparison.Ordinal);
        Assert.Contains($"{id}-4.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"{id}-init-2.mp4\"", playlist, StringComparison.Ordinal);
        string mpd = Read("chan/manifest.mpd");
        Assert.Equal(Attribute(mpdOfA, "availabilityStartTime"), Attribute(mpd, "availabilityStartTime"));
        // The Period B opened keeps its id and start; C's is the next id.
        Assert.Equal(PeriodStart(mpdOfB, "p1"), PeriodStart(mpd, "p1"));
        Assert.Contains("<Period id=\"p2\"", mpd, StringComparison.Ordinal);
        Assert.DoesNotContain("<Period id=\"p0\"", mpd, StringComparison.Ordinal);
        await nodeB.DisposeAsync();
        await deadNode.DisposeAsync();
    }

    private static string PeriodStart(string mpd, string id)
    {
        var match = System.Text.RegularExpressions.Regex.Match(mpd, $"<Period id=\"{id}\" start=\"([^\"]+)\"");
        Assert.True(match.Success, mpd);
        return match.Groups[1].Value;
    }

    [Fact]
    public async Task A_low_latency_continuation_skips_the_number_whose_parts_the_dead_node_announced()
    {
        var (deadNode, id) = await DeadNodeAsync(lowLatency: true);
        // The dead node had cut parts of segment 3 (4..5 s) and its playlists listed them: players may hold them.
        Assert.Contains($"URI=\"{LowLatencyPlaylist.PartName(id, 3, 0)}\"", Read("chan/source/index.m3u8"), StringComparison.Ordinal);
        byte[] deadPart = await File.ReadAllBytesAsync(_store.PathOf($"chan/source/{LowLatencyPlaylist.PartName(id, 3, 0)}"));
        _clock.Advance(TimeSpan.FromSeconds(5));

        await using var node = await ContinueOnNewNodeAsync(id, lowLatency: true);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains($"\n{id}-5.m4s") && Read("chan/audio/index.m3u8").Contains($"\n{id}-5.m4s"),
            Bound, "node B to list segment 5", Logs);
        foreach (var rendition in new[] { "source", "audio" })
        {
            string playlist = Read($"chan/{rendition}/index.m3u8");
            // Number 3 stays the dead node's: a gap of the time its parts covered (about 1 s), then the join and 4.
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(playlist, $@"\n{id}-2\.m4s\n#EXT-X-GAP\n#EXTINF:[01]\.[0-9]+,\n{id}-3\.m4s\n#EXT-X-DISCONTINUITY\n"), playlist);
            Assert.Contains($"\n{id}-4.m4s\n", playlist, StringComparison.Ordinal);
            Assert.DoesNotContain($"URI=\"{LowLatencyPlaylist.PartName(id, 3, 0)}\"", playlist, StringComparison.Ordinal);
        }
        Assert.Equal(deadPart, await File.ReadAllBytesAsync(_store.PathOf($"chan/source/{LowLatencyPlaylist.PartName(id, 3, 0)}")));
        Assert.Contains(_log.Lines, l => l.Contains($"broadcast {id} continues here after its node stopped, from segment 4", StringComparison.Ordinal));
        await deadNode.DisposeAsync();
    }

    /// <summary>
    /// A recorded broadcast of 70 s (segments 1..34) on node A, which dies; node B continues it for 5 s and ends it. Returns
    /// the broadcast id once B's recording is written, and node A (disposed by the test after its checks: a node that
    /// shuts down finalises what it packages, which a dead node never does). <paramref name="beforeB"/> runs between the two nodes.
    /// </summary>
    private async Task<(string BroadcastId, LivePackager DeadNode)> RecordedTakeoverAsync(Func<string, Task>? beforeB = null)
    {
        var registryA = new LiveStreamRegistry(_clock);
        var nodeA = await NodeAsync(registryA, record: true);
        Assert.True(registryA.TryStartPublish("chan", out var streamA));
        // In steps of 10 s, each packaged before the next: one burst of 70 s would overrun the packager's queue.
        for (int second = 0; second < 70; second += 10)
        {
            Publish(streamA, 10, second);
            int last = second / 2 + 3;
            await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains($"-{last}.m4s", StringComparison.Ordinal), Bound, $"node A to store segment {last}", Logs);
        }
        string id = "";
        await WaitFor.ConditionAsync(() => nodeA.Find("chan") is { } s && (id = s.BroadcastId) != ""
            && Read("chan/live-state.json").Contains("\"number\":34,", StringComparison.Ordinal)
            && Read("chan/audio/index.m3u8").Contains("-34.m4s"), Bound, "node A to store segment 34 and its state", Logs);

        // The journal holds 1..30; the live state lists what it does not (31..34), though the window is 32..34.
        Assert.True(File.Exists(_store.PathOf(RecordingJournalChunk.Key("chan", id, 0))), string.Join("\n", Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".m4s", StringComparison.Ordinal))) + Read("chan/live-state.json"));
        Assert.False(File.Exists(_store.PathOf(RecordingJournalChunk.Key("chan", id, 1))));
        var state = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(Read("chan/live-state.json")), out string? error);
        Assert.True(state is not null, error);
        Assert.Equal(30, state.JournaledThrough);
        Assert.All(state.Renditions, r => Assert.Equal(31, r.Segments[0].Number));
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:32\n", Read("chan/source/index.m3u8"), StringComparison.Ordinal);
        if (beforeB is not null) await beforeB(id);

        _clock.Advance(TimeSpan.FromSeconds(5));
        var registryB = new LiveStreamRegistry(_clock);
        await using var nodeB = await NodeAsync(registryB, record: true);
        Assert.Equal(id, await nodeB.PrepareContinuationAsync("chan", Grace, default));
        await PublishToTheEndAsync(nodeB, registryB);
        return (id, nodeA);
    }

    /// <summary>
    /// A broadcast with a new key every segment, recorded, continued elsewhere: node B knows only the periods of node A's
    /// last window, and the journal names the others, so the recording names every segment of both nodes under the key that
    /// encrypts it (the KID of its fragments' 'seig' group, or the init segment's default for the first period).
    /// </summary>
    [Fact]
    public async Task The_recording_of_a_continued_rotated_broadcast_names_each_segment_under_its_own_key()
    {
        // Audio only: the encryptor reads real slice headers, which the test's synthetic video frames do not have.
        var keyServer = new ConcurrentDictionary<Broadcast.Packager.Cmaf.Encryption.KeyId, Broadcast.Packager.Cmaf.Encryption.ContentKey>();
        var registryA = new LiveStreamRegistry(_clock);
        var nodeA = await NodeAsync(registryA, record: true, protection: new RotatingProtectionPolicy(keyServer));
        Assert.True(registryA.TryStartPublish("chan", out var streamA));
        for (int second = 0; second < 70; second += 10)
        {
            PublishAudio(streamA, second, 10);
            int last = second / 2 + 3;
            await WaitFor.ConditionAsync(() => Read("chan/audio/index.m3u8").Contains($"-{last}.m4s", StringComparison.Ordinal), Bound, $"node A to store segment {last}", Logs);
        }
        string id = nodeA.Find("chan")!.BroadcastId;
        await WaitFor.ConditionAsync(() => Read("chan/live-state.json").Contains("\"number\":34,", StringComparison.Ordinal)
            && File.Exists(_store.PathOf(RecordingJournalChunk.Key("chan", id, 0))), Bound, "node A to store segment 34, its state and journal chunk 0", Logs);
        var chunk = RecordingJournalChunk.TryParse(File.ReadAllBytes(_store.PathOf(RecordingJournalChunk.Key("chan", id, 0))), out string? error);
        Assert.True(chunk?.KeyPeriods is { Count: > 0 }, error ?? "journal chunk 0 names no key period");

        _clock.Advance(TimeSpan.FromSeconds(5));
        var registryB = new LiveStreamRegistry(_clock);
        await using (var nodeB = await NodeAsync(registryB, record: true, protection: new RotatingProtectionPolicy(keyServer)))
        {
            Assert.Equal(id, await nodeB.PrepareContinuationAsync("chan", Grace, default));
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            nodeB.StreamFinished += _ => finished.TrySetResult();
            Assert.True(registryB.TryStartPublish("chan", out var streamB));
            PublishAudio(streamB, 0, 5);
            registryB.EndPublish(streamB);
            await finished.Task.WaitAsync(Bound);
        }

        const string rendition = "audio";
        string vod = Read($"chan/{rendition}/{id}.m3u8");
        var named = SegmentKeys(vod);
        Assert.True(named.Count >= 36, vod);
        var firstKid = SampleKeyTags.ClearKeyId([named[named.Keys.Min()]]);
        foreach (var (number, tag) in named)
        {
            var seig = RotatedKeyPackagerTests.SeigKids(File.ReadAllBytes(_store.PathOf(StoreKeys.Segment("chan", rendition, id, number)))).Distinct().ToList();
            var encryptedUnder = seig.Count == 0 ? firstKid : Assert.Single(seig);
            Assert.True(SampleKeyTags.ClearKeyId([tag]) == encryptedUnder,
                $"{rendition} segment {number} is named under {SampleKeyTags.ClearKeyId([tag])}, encrypted under {encryptedUnder}\n{vod}");
        }
        // Node A's periods before its last window came from the journal: far more keys than node B restored.
        Assert.True(named.Values.Distinct().Count() >= 30, vod);
        await nodeA.DisposeAsync();
    }

    [Fact]
    public async Task The_recording_of_a_continued_broadcast_holds_the_whole_broadcast_from_its_journal()
    {
        var (id, deadNode) = await RecordedTakeoverAsync();

        foreach (var rendition in new[] { "source", "audio" })
        {
            string vod = Read($"chan/{rendition}/{id}.m3u8");
            Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD\n", vod, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-MEDIA-SEQUENCE:1\n", vod, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n", vod, StringComparison.Ordinal);
            // Every segment of both nodes, in order, with one discontinuity at the join (B's numbers go on from 35).
            var names = vod.Split('\n').Where(l => l.StartsWith(id + "-", StringComparison.Ordinal) && l.EndsWith(".m4s", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(1, names.Count).Select(n => $"{id}-{n}.m4s"), names);
            Assert.True(names.Count >= 36, vod);
            Assert.Equal(1, TestMedia.CountOf(vod, "#EXT-X-DISCONTINUITY\n"));
            Assert.Contains($"{id}-34.m4s\n#EXT-X-DISCONTINUITY\n", vod, StringComparison.Ordinal);
            Assert.DoesNotContain("#EXT-X-GAP", vod, StringComparison.Ordinal);
            Assert.EndsWith("#EXT-X-ENDLIST\n", vod, StringComparison.Ordinal);
        }
        // The static MPD counts Periods from the broadcast's start: the first at 0 s, the second at the join.
        string mpd = Read($"chan/recordings/{id}/manifest.mpd");
        Assert.Contains("<Period id=\"p0\" start=\"PT0S\">", mpd, StringComparison.Ordinal);
        Assert.Contains("<Period id=\"p1\"", mpd, StringComparison.Ordinal);
        Assert.Equal(2, TestMedia.CountOf(mpd, "<Period "));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("has a gap", StringComparison.Ordinal));
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task A_lost_journal_chunk_leaves_a_gap_in_the_recording_with_a_log_line_and_nothing_else_lost()
    {
        var (id, deadNode) = await RecordedTakeoverAsync(id => _store.DeleteAsync([RecordingJournalChunk.Key("chan", id, 0)], default).AsTask());

        string vod = Read($"chan/source/{id}.m3u8");
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:31\n", vod, StringComparison.Ordinal);
        Assert.Contains($"{id}-34.m4s\n#EXT-X-DISCONTINUITY\n", vod, StringComparison.Ordinal);
        Assert.EndsWith("#EXT-X-ENDLIST\n", vod, StringComparison.Ordinal);
        Assert.Contains(_log.Lines, l => l.Contains($"chan: the recording of broadcast {id} has a gap: its journal chunk chan/recordings/{id}/journal-0.json missing",
            StringComparison.Ordinal));
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task A_low_latency_continuation_deletes_the_dead_nodes_parts_once_no_playlist_names_them()
    {
        var (deadNode, id) = await DeadNodeAsync(lowLatency: true);
        string restoredPart = $"chan/source/{LowLatencyPlaylist.PartName(id, 2, 0)}", skippedPart = $"chan/source/{LowLatencyPlaylist.PartName(id, 3, 0)}";
        Assert.True(File.Exists(_store.PathOf(restoredPart)) && File.Exists(_store.PathOf(skippedPart)));
        _clock.Advance(TimeSpan.FromSeconds(5));

        var registry = new LiveStreamRegistry(_clock);
        await using var node = await NodeAsync(registry, lowLatency: true);
        Assert.Equal(id, await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        // 20 s more: the restored segment 2 and the skipped 3 leave the window (3 segments), then, past the delete grace
        // (30 s) and the window, a later segment runs the due deletes.
        for (int second = 0; second < 20; second += 5)
        {
            Publish(stream, 5, second);
            int last = 4 + second / 2 + 1;
            await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains($"\n{id}-{last}.m4s", StringComparison.Ordinal), Bound, $"node B to list segment {last}", Logs);
        }
        Assert.DoesNotContain($"{id}-2.m4s", Read("chan/source/index.m3u8"), StringComparison.Ordinal);
        _clock.Advance(TimeSpan.FromSeconds(40));
        Publish(stream, 5, 20);
        await WaitFor.ConditionAsync(() => !File.Exists(_store.PathOf(restoredPart)) && !File.Exists(_store.PathOf(skippedPart)), Bound,
            "the dead node's parts of segments 2 (restored) and 3 (skipped) to be deleted", Logs);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_store.PathOf(restoredPart))!, $"{id}-2.*.m4s"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_store.PathOf(restoredPart))!, $"{id}-3.*.m4s"));
        await deadNode.DisposeAsync();
    }

    /// <summary>
    /// A protected broadcast continued on another node: the state the dead node wrote names its scheme and KID, the new
    /// node's protection policy is asked with them (and keeps them: its players hold that key), and the new node's
    /// playlists name the same KID. Audio only: AAC is encrypted whole, while this class's synthetic video has no slice
    /// headers to keep clear (<c>EncryptedPackagerTests</c> encrypts a real clip).
    /// </summary>
    [Fact]
    public async Task A_protected_broadcast_continued_elsewhere_asks_its_policy_for_the_key_it_had()
    {
        var policyA = new KeepingProtectionPolicy();
        var (nodeA, id) = await ProtectedDeadNodeAsync(policyA, 5, "\"number\":2", "\"protection\":{\"scheme\":\"cbcs\"");
        Assert.True(policyA.Asked.TryDequeue(out var askedA) && askedA is null, "a new broadcast's policy is asked without a continued one");
        var kid = policyA.Given.Single();

        var policyB = new KeepingProtectionPolicy();
        await using var nodeB = await ContinueProtectedAsync(policyB, id);
        await WaitFor.ConditionAsync(() => !policyB.Asked.IsEmpty, Bound, "node B to ask its protection policy", Logs);
        Assert.True(policyB.Asked.TryDequeue(out var askedB));
        Assert.Equal(new ProtectionState("cbcs", Convert.ToHexStringLower(kid.ToArray())), askedB);
        string keyTag = $"URI=\"data:text/plain;base64,{Convert.ToBase64String(kid.ToArray())}\"";
        await WaitFor.ConditionAsync(() => Read("chan/audio/index.m3u8").Contains(keyTag, StringComparison.Ordinal)
            && Read("chan/live-state.json").Contains(id, StringComparison.Ordinal) && policyB.Given.Count == 1,
            Bound, "node B's playlist to name the same KID", Logs);
        await nodeA.DisposeAsync();
    }

    /// <summary>
    /// A broadcast with a new key every segment continued elsewhere: node A's state names the later periods its window's
    /// segments are under, node B gets their keys back by KID, names each restored segment's own key in its playlist, and
    /// its first new segment is under a key after them, never the first key again.
    /// </summary>
    [Fact]
    public async Task A_rotated_broadcast_continued_elsewhere_names_each_restored_segments_own_key()
    {
        var keyServer = new ConcurrentDictionary<Broadcast.Packager.Cmaf.Encryption.KeyId, Broadcast.Packager.Cmaf.Encryption.ContentKey>();
        var (nodeA, id) = await ProtectedDeadNodeAsync(new RotatingProtectionPolicy(keyServer), 7, "\"number\":3", "\"periods\":[");
        string playlistA = Read("chan/audio/index.m3u8");

        var policyB = new RotatingProtectionPolicy(keyServer);
        await using var nodeB = await ContinueProtectedAsync(policyB, id);
        await WaitFor.ConditionAsync(() => !policyB.Asked.IsEmpty, Bound, "node B to ask its protection policy", Logs);
        Assert.True(policyB.Asked.TryDequeue(out var askedB));
        var periods = askedB!.Periods ?? throw new Xunit.Sdk.XunitException($"node A's state named no later key period:\n{Read("chan/live-state.json")}");
        // Node A's window lists segments 1 to 3; each is under its own key (one key per segment), so segments 2 and 3 begin periods.
        Assert.Equal([2L, 3L], periods.Select(p => p.FirstSegment));
        string playlistB = "";
        await WaitFor.ConditionAsync(() => SegmentKeys(playlistB = Read("chan/audio/index.m3u8")).Keys.Any(n => n > 3),
            Bound, "node B to list a segment of its own", Logs);
        var keysA = SegmentKeys(playlistA);
        var keysB = SegmentKeys(playlistB);
        string both = $"node A's playlist:\n{playlistA}\nnode B's:\n{playlistB}";
        // The window slides as node B adds its own: it still lists the restored segment 3 at least.
        var restored = keysB.Where(k => k.Key <= 3).ToList();
        Assert.True(restored.Count > 0, both);
        foreach (var (n, key) in restored)
            Assert.True(keysA[n] == key, $"segment {n} is under another key on node B\n{both}");
        Assert.True(restored.Select(k => k.Value).Distinct().Count() == restored.Count, both);
        Assert.True(!keysA.ContainsValue(keysB[keysB.Keys.Where(n => n > 3).Min()]), $"node B's first segment is under one of node A's keys\n{both}");
        await nodeA.DisposeAsync();
    }

    /// <summary>
    /// Node A packages <paramref name="seconds"/> s of audio under <paramref name="policy"/> until its live state holds each
    /// of <paramref name="stored"/>, and dies there (the clock goes 5 s on); returns it and the broadcast's id.
    /// </summary>
    private async Task<(LivePackager Node, string BroadcastId)> ProtectedDeadNodeAsync(IContentProtectionPolicy policy, int seconds, params string[] stored)
    {
        var registry = new LiveStreamRegistry(_clock);
        var node = await NodeAsync(registry, protection: policy);
        Assert.True(registry.TryStartPublish("chan", out var stream));
        PublishAudio(stream, 0, seconds);
        await WaitFor.ConditionAsync(() => stored.All(s => Read("chan/live-state.json").Contains(s, StringComparison.Ordinal)),
            Bound, $"node A's live state to hold {string.Join(" and ", stored)}", Logs);
        string id = node.Find("chan")!.BroadcastId;
        _clock.Advance(TimeSpan.FromSeconds(5));
        return (node, id);
    }

    /// <summary>Node B, under <paramref name="policy"/>, continues broadcast <paramref name="id"/> with 5 s of audio from timestamp 0.</summary>
    private async Task<LivePackager> ContinueProtectedAsync(IContentProtectionPolicy policy, string id)
    {
        var registry = new LiveStreamRegistry(_clock);
        var node = await NodeAsync(registry, protection: policy);
        Assert.Equal(id, await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        PublishAudio(stream, 0, 5);
        return node;
    }

    /// <summary>The key tag (its URI) in force for each segment number a media playlist lists.</summary>
    private static Dictionary<long, string> SegmentKeys(string playlist)
    {
        var keys = new Dictionary<long, string>();
        string key = "";
        foreach (var line in playlist.Split('\n'))
        {
            if (line.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal)) key = line;
            else if (line.EndsWith(".m4s", StringComparison.Ordinal))
                keys[long.Parse(line[(line.LastIndexOf('-') + 1)..^4], System.Globalization.CultureInfo.InvariantCulture)] = key;
        }
        return keys;
    }

    /// <summary>AAC frames (1024 samples at 48 kHz) from <paramref name="fromSecond"/> for <paramref name="seconds"/>.</summary>
    private void PublishAudio(LiveStream stream, int fromSecond, int seconds)
    {
        for (long n = fromSecond * 48_000L / 1024; n < (fromSecond + seconds) * 48_000L / 1024; n++)
            stream.Write(TestMedia.Frame(_audio, n * 1024L, true, 20));
    }


    /// <summary>A policy as the server's keeps a continued broadcast's scheme and KID; a new broadcast gets cbcs and a fresh KID.</summary>
    private sealed class KeepingProtectionPolicy : IContentProtectionPolicy
    {
        public ConcurrentQueue<ProtectionState?> Asked { get; } = new();

        public ConcurrentBag<Broadcast.Packager.Cmaf.Encryption.KeyId> Given { get; } = [];

        public ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken)
        {
            Asked.Enqueue(continuing);
            var kid = continuing?.ToKeyId()
                ?? Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            Given.Add(kid);
            var key = new Broadcast.Packager.Cmaf.Encryption.ContentKey(kid, Convert.FromHexString("3c4f5d6e7f8091a2b3c4d5e6f708192a"));
            return ValueTask.FromResult<BroadcastProtection?>(BroadcastProtection.From(
                continuing?.ToScheme() ?? Broadcast.Packager.Cmaf.Encryption.EncryptionScheme.Cbcs, new ContentKeyGrant(key, [])));
        }
    }

    /// <summary>
    /// A policy as the server's with a new key every segment: its keys are kept by <paramref name="keyServer"/> (a key
    /// provider's store shared by both nodes), and a continued broadcast's keys are read back from it by KID.
    /// </summary>
    private sealed class RotatingProtectionPolicy(
        ConcurrentDictionary<Broadcast.Packager.Cmaf.Encryption.KeyId, Broadcast.Packager.Cmaf.Encryption.ContentKey> keyServer) : IContentProtectionPolicy
    {
        public ConcurrentQueue<ProtectionState?> Asked { get; } = new();

        public async ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken)
        {
            Asked.Enqueue(continuing);
            var scheme = Broadcast.Packager.Cmaf.Encryption.EncryptionScheme.Cbcs;
            var first = BroadcastProtection.From(scheme, KeyFor(continuing?.ToKeyId()));
            if (continuing is not null)
                first = await BroadcastProtection.ContinuedAsync(first, continuing, (kid, _) => ValueTask.FromResult(KeyFor(kid)), cancellationToken);
            return first with { Rotation = new KeyRotation(1, _ => ValueTask.FromResult(KeyFor(null))) };
        }

        private ContentKeyGrant KeyFor(Broadcast.Packager.Cmaf.Encryption.KeyId? kid)
        {
            var id = kid ?? Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            var key = keyServer.GetOrAdd(id, k => new Broadcast.Packager.Cmaf.Encryption.ContentKey(k, System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
            return new ContentKeyGrant(key, []);
        }
    }

    /// <summary>A key read back under another KID refuses the continuation, naming the period: its segments would be named under
    /// a key that does not open them.</summary>
    [Fact]
    public async Task A_continued_key_period_whose_key_comes_back_under_another_kid_refuses_the_continuation()
    {
        var kid = Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));
        var other = Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString("fedcba9876543210fedcba9876543210"));
        var first = BroadcastProtection.From(Broadcast.Packager.Cmaf.Encryption.EncryptionScheme.Cbcs,
            new ContentKeyGrant(new Broadcast.Packager.Cmaf.Encryption.ContentKey(kid, new byte[16]), []));
        var state = new ProtectionState("cbcs", "0123456789abcdef0123456789abcdef", [new KeyPeriodState(12, "00112233445566778899aabbccddeeff")]);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await BroadcastProtection.ContinuedAsync(first, state,
            (_, _) => ValueTask.FromResult(new ContentKeyGrant(new Broadcast.Packager.Cmaf.Encryption.ContentKey(other, new byte[16]), [])), default));
        Assert.Contains("from segment 12", e.Message, StringComparison.Ordinal);
        Assert.Same(first, await BroadcastProtection.ContinuedAsync(first, state with { Periods = null }, (_, _) => throw new InvalidOperationException("not asked"), default));
    }

    [Fact]
    public async Task Past_the_grace_a_publish_on_another_node_starts_a_new_broadcast()
    {
        var (deadNode, id) = await DeadNodeAsync();
        _clock.Advance(TimeSpan.FromSeconds(40));
        var registry = new LiveStreamRegistry(_clock);
        await using var node = await NodeAsync(registry);
        Assert.Null(await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.Contains(_log.Lines, l => l.Contains($"unfinished broadcast {id} ended", StringComparison.Ordinal));
        await AssertNewBroadcastAsync(registry, node, id);
        await deadNode.DisposeAsync();
    }

    [Fact]
    public async Task An_ended_broadcast_is_never_continued()
    {
        var registry = new LiveStreamRegistry(_clock);
        await using (var first = await NodeAsync(registry))
        {
            await PublishToTheEndAsync(first, registry);
        }
        Assert.Contains("\"ended\":true", Read("chan/live-state.json"), StringComparison.Ordinal);
        var again = new LiveStreamRegistry(_clock);
        await using var node = await NodeAsync(again);
        Assert.Null(await node.PrepareContinuationAsync("chan", Grace, default));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"version\":1}")]
    [InlineData("{\"version\":2,\"broadcastId\":\"x\",\"renditions\":[]}")]
    [InlineData("")]
    public async Task A_malformed_stored_state_starts_a_new_broadcast_with_a_clear_log_line(string stored)
    {
        await _store.PutAsync(LiveBroadcastState.Key("chan"), Encoding.UTF8.GetBytes(stored), "application/json", "no-store", default);
        var registry = new LiveStreamRegistry(_clock);
        await using var node = await NodeAsync(registry);
        Assert.Null(await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.Contains(_log.Lines, l => l.Contains("chan: stored live state is malformed", StringComparison.Ordinal));
        await AssertNewBroadcastAsync(registry, node, previousId: null);
    }

    [Fact]
    public async Task Without_a_stored_state_nothing_is_continued()
    {
        var registry = new LiveStreamRegistry(_clock);
        await using var node = await NodeAsync(registry);
        Assert.Null(await node.PrepareContinuationAsync("chan", Grace, default));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("live state", StringComparison.Ordinal));
        await AssertNewBroadcastAsync(registry, node, previousId: null);
    }

    /// <summary>The publish packages as a broadcast of its own: numbers from 1, no discontinuity.</summary>
    private async Task AssertNewBroadcastAsync(LiveStreamRegistry registry, LivePackager node, string? previousId)
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Publish(stream, 5);
        await WaitFor.ConditionAsync(() => node.Find("chan") is { } s && s.BroadcastId != previousId && Read("chan/source/index.m3u8").Contains($"{s.BroadcastId}-2.m4s"),
            Bound, "the new broadcast to list segment 2", Logs);
        string playlist = Read("chan/source/index.m3u8");
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:1\n", playlist, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", playlist, StringComparison.Ordinal);
    }

    private static string Attribute(string xml, string name)
    {
        int at = xml.IndexOf($" {name}=\"", StringComparison.Ordinal);
        Assert.True(at >= 0, $"{name} missing");
        at += name.Length + 3;
        return xml[at..xml.IndexOf('"', at)];
    }

    /// <summary>
    /// A node may die between any two of the writes that follow a segment (its playlists, the MPD, the live state).
    /// Whatever it had written, the node that continues must not contradict a playlist a player already loaded: every
    /// media sequence number both list names the same segment in the same discontinuity sequence (hls.js stops with a
    /// fatal levelParsingError, "discontinuity sequence mismatch", otherwise). A CI run of the topology test killed the
    /// ingest node after its playlists named a segment and before its live state did; the backup then gave its own first
    /// segment that number. Node A's store stands still at the n-th of those writes (what a kill -9 leaves).
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task The_continuing_node_agrees_with_every_playlist_the_dead_node_left(int writesBeforeDeath)
    {
        // Node A: segments 1 and 2 close in 5 s of media; its store stops at the given write after segment 2's media.
        var killed = new KilledNodeStore(_store, armedBy: "/source/", armedSuffix: "-2.m4s", writesBeforeDeath);
        var registryA = new LiveStreamRegistry(_clock);
        await using var nodeA = await NodeAsync(registryA, store: killed);
        Assert.True(registryA.TryStartPublish("chan", out var streamA));
        Publish(streamA, 5);
        await killed.Died.WaitAsync(Bound);
        string id = nodeA.Find("chan")!.BroadcastId;
        var left = new Dictionary<string, string>
        {
            ["source"] = Read("chan/source/index.m3u8"),
            ["audio"] = Read("chan/audio/index.m3u8"),
        };

        // Node B, 5 s later, continues the broadcast and packages 5 s more.
        _clock.Advance(TimeSpan.FromSeconds(5));
        var registryB = new LiveStreamRegistry(_clock);
        await using var nodeB = await NodeAsync(registryB);
        Assert.Equal(id, await nodeB.PrepareContinuationAsync("chan", Grace, default));
        Assert.True(registryB.TryStartPublish("chan", out var streamB));
        Publish(streamB, 5);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal)
            && Read("chan/audio/index.m3u8").Contains("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal)
            && SegmentsAfterTheJoin(Read("chan/source/index.m3u8")) >= 2,
            Bound, "node B to list its own segments after the join", () => $"{killed.Describe()}\n{string.Join("\n", _log.Lines)}\n{Read("chan/source/index.m3u8")}");

        foreach (var (rendition, before) in left)
        {
            string after = Read($"chan/{rendition}/index.m3u8");
            var old = MediaPlaylistEntries.Of(before);
            var now = MediaPlaylistEntries.Of(after);
            foreach (var (number, entry) in old)
                if (now.TryGetValue(number, out var continued))
                    Assert.True(entry == continued,
                        $"{rendition} segment {number}: the dead node listed {entry}, the continuing node {continued}\n{killed.Describe()}\n--- left ---\n{before}\n--- continued ---\n{after}");
            // The continuation's first own segment comes after everything the dead node listed.
            Assert.True(now.Keys.Max() > (old.Count == 0 ? 0 : old.Keys.Max()), after);
        }
    }

    private static int SegmentsAfterTheJoin(string playlist)
    {
        int join = playlist.LastIndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
        return join < 0 ? 0 : playlist[join..].Split('\n').Count(l => l.EndsWith(".m4s", StringComparison.Ordinal));
    }

    /// <summary>Each listed segment of a media playlist by its media sequence number: its URI and discontinuity sequence.</summary>
    private static class MediaPlaylistEntries
    {
        public static Dictionary<long, (string Uri, long DiscontinuitySequence)> Of(string playlist)
        {
            var entries = new Dictionary<long, (string, long)>();
            long number = 0, discontinuity = 0;
            foreach (string line in playlist.Split('\n'))
            {
                if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal)) number = long.Parse(line[22..], System.Globalization.CultureInfo.InvariantCulture);
                else if (line.StartsWith("#EXT-X-DISCONTINUITY-SEQUENCE:", StringComparison.Ordinal)) discontinuity = long.Parse(line[30..], System.Globalization.CultureInfo.InvariantCulture);
                else if (line == "#EXT-X-DISCONTINUITY") discontinuity++;
                else if (line.Length > 0 && line[0] != '#') entries[number++] = (line, discontinuity);
            }
            return entries;
        }
    }

    /// <summary>
    /// A node killed mid-batch, as its store sees it: writes pass until a put of a key containing <c>armedBy</c> and
    /// ending with <c>armedSuffix</c> (a segment's media); from then on the manifest and state writes are counted, and
    /// at the given one the store stands still: it and every later put or delete are dropped.
    /// </summary>
    private sealed class KilledNodeStore(ISegmentStore inner, string armedBy, string armedSuffix, int writesBeforeDeath) : ISegmentStore
    {
        private readonly TaskCompletionSource _died = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _writes = new();
        private bool _armed;
        private int _counted;

        public Task Died => _died.Task;

        public string Describe() => $"node A's writes after segment 2's media (it died at write {writesBeforeDeath}): {string.Join(", ", _writes)}";

        public ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
        {
            if (_died.Task.IsCompleted) return ValueTask.CompletedTask;
            if (_armed && !key.EndsWith(".m4s", StringComparison.Ordinal) && !key.EndsWith(".mp4", StringComparison.Ordinal))
            {
                if (_counted++ == writesBeforeDeath)
                {
                    _writes.Enqueue($"{key} (dropped)");
                    _died.TrySetResult();
                    return ValueTask.CompletedTask;
                }
                _writes.Enqueue(key);
            }
            if (key.Contains(armedBy, StringComparison.Ordinal) && key.EndsWith(armedSuffix, StringComparison.Ordinal)) _armed = true;
            return inner.PutAsync(key, data, contentType, cacheControl, cancellationToken);
        }

        public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
            _died.Task.IsCompleted ? ValueTask.CompletedTask : inner.DeleteAsync(keys, cancellationToken);

        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}
