using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// A node may die between any two of the writes that follow a segment (its playlists, the MPD, the live state). Whatever
/// it had written, the node that continues the broadcast must not contradict a playlist a player already loaded: every
/// media sequence number both playlists list names the same segment in the same discontinuity sequence (hls.js stops
/// with a fatal levelParsingError, "discontinuity sequence mismatch", otherwise). A CI run of the topology test killed the
/// ingest node after its playlists named a segment and before its live state did; the backup then numbered its own first
/// segment with that number. Node A's store stands still at the n-th of those writes (what a kill -9 leaves); node B
/// continues from what is there.
/// </summary>
public sealed class TakeoverAtAnyWriteTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 3, 10, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly AudioTrack _audio = TestMedia.Audio();
    private readonly ManualClock _clock = new(Start);
    private readonly PackagerOptions _options = new() { SegmentSeconds = 2, WindowSegments = 3 };
    private readonly FileSystemSegmentStore _store;
    private readonly ListLogger<LivePackager> _log = new();

    public TakeoverAtAnyWriteTests() => _store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));

    public void Dispose() => _dir.Dispose();

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
        await using var nodeA = await NodeAsync(registryA, killed);
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
        await using var nodeB = await NodeAsync(registryB, _store);
        Assert.Equal(id, await nodeB.PrepareContinuationAsync("chan", TimeSpan.FromSeconds(30), default));
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

    private async Task<LivePackager> NodeAsync(LiveStreamRegistry registry, ISegmentStore store)
    {
        var node = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(new PackagerOptions())),
            Options.Create(_options), _clock, _log);
        await node.StartAsync(default);
        return node;
    }

    private void Publish(LiveStream stream, int seconds)
    {
        var video = TestMedia.Video(1280, 720);
        long audioCount = 0;
        for (int i = 0; i < seconds * 30; i++)
        {
            stream.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 400));
            while (audioCount <= (long)Math.Floor(i * 1.6))
                stream.Write(TestMedia.Frame(_audio, audioCount++ * 1024L, true, 20));
        }
    }

    private static int SegmentsAfterTheJoin(string playlist)
    {
        int join = playlist.LastIndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
        return join < 0 ? 0 : playlist[join..].Split('\n').Count(l => l.EndsWith(".m4s", StringComparison.Ordinal));
    }

    private string Read(string key) => File.Exists(_store.PathOf(key)) ? File.ReadAllText(_store.PathOf(key)) : "";

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
