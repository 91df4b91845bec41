using System.Globalization;
using System.Text;
using Broadcast.Control.Clips;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Clips.Tests;

/// <summary>
/// The clips project's side of clips over a real filesystem store: the playlists cut from the stored live window or a recording,
/// the range placed on what is stored (offsets, refusals naming the field), nothing left behind when a write fails, the
/// delete of what the clip alone held, and the retention hold read from the clips table.
/// </summary>
public sealed class ClipMediaTests : IDisposable
{
    private const string Slug = "show";
    private const string Broadcast = StoredClipWindow.Broadcast;
    private static readonly DateTimeOffset T0 = StoredClipWindow.T0;
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(5);
    private readonly TempDirectory _dir = new("clips");
    private readonly FileSystemSegmentStore _store;
    private readonly FakeClipTable _clips = new(Broadcast);

    public ClipMediaTests() => _store = new FileSystemSegmentStore(_dir.Path);

    public void Dispose() => _dir.Dispose();

    internal static string Window(long first, long last, bool ended = false) => StoredClipWindow.Window(first, last, ended);

    internal const string Master = StoredClipWindow.Master;

    /// <summary>The live window of segments first..last in source and audio, and every segment 1..last with its init.</summary>
    private async Task StoreLiveAsync(long first, long last)
    {
        await PutAsync(StoreKeys.Master(Slug), Master);
        foreach (var r in new[] { "source", "audio" })
        {
            await PutAsync(StoreKeys.MediaPlaylist(Slug, r), Window(first, last));
            await PutAsync(StoreKeys.Init(Slug, r, Broadcast, 0), "init");
            for (long n = 1; n <= last; n++) await PutAsync(StoreKeys.Segment(Slug, r, Broadcast, n), "segment");
        }
    }

    private ValueTask PutAsync(string key, string text) => _store.PutAsync(key, Encoding.UTF8.GetBytes(text), ContentTypes.FromKey(key), null, default);

    private async Task<string?> TextAsync(string key) =>
        await _store.GetAsync(key, default) is { } o ? Encoding.UTF8.GetString(o.Data.Span) : null;

    private static ClipCutRequest Request(ClipPoint from, ClipPoint to, string id = "c1", string? recording = null) =>
        new(Slug, id, recording, from, to, Max);

    [Fact]
    public async Task A_clip_of_the_live_window_names_the_stored_segments_of_every_rendition_from_its_own_folder()
    {
        await StoreLiveAsync(1, 12);
        var media = new StoreClipMedia(_store, _clips);
        var cut = await media.WriteAsync(Request(ClipPoint.Time(T0.AddSeconds(3)), ClipPoint.Time(T0.AddSeconds(9))), default);
        Assert.Equal(new ClipCutResult(Broadcast, T0.AddSeconds(2), T0.AddSeconds(10), 2, 5) { Asked = (T0.AddSeconds(3), T0.AddSeconds(9)) }, cut);

        string master = (await TextAsync(StoreKeys.ClipMaster(Slug, "c1")))!;
        Assert.Contains("URI=\"audio.m3u8\"", master, StringComparison.Ordinal);
        Assert.Contains("\nsource.m3u8\n", master, StringComparison.Ordinal);
        foreach (var r in new[] { "source", "audio" })
        {
            string playlist = (await TextAsync(StoreKeys.ClipMediaPlaylist(Slug, "c1", r)))!;
            Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD\n", playlist, StringComparison.Ordinal);
            Assert.Contains($"#EXT-X-MAP:URI=\"../../{r}/{Broadcast}-init.mp4\"", playlist, StringComparison.Ordinal);
            Assert.Contains($"\n../../{r}/{Broadcast}-2.m4s\n", playlist, StringComparison.Ordinal);
            Assert.Contains($"\n../../{r}/{Broadcast}-5.m4s\n#EXT-X-ENDLIST\n", playlist, StringComparison.Ordinal);
        }
        var stored = await _store.GetAsync(StoreKeys.ClipMaster(Slug, "c1"), default);
        Assert.Equal(ContentTypes.Hls, stored!.ContentType);
    }

    [Fact]
    public async Task Offsets_count_back_from_the_newest_stored_segment()
    {
        await StoreLiveAsync(1, 12);
        var cut = await new StoreClipMedia(_store, _clips).WriteAsync(Request(ClipPoint.FromEnd(-6), ClipPoint.FromEnd(-2)), default);
        Assert.Equal((T0.AddSeconds(18), T0.AddSeconds(22), 10L, 11L), (cut.StartsAt, cut.EndsAt, cut.FirstSegment, cut.LastSegment));
    }

    [Fact]
    public async Task A_clip_of_a_recording_reads_its_vod_playlists()
    {
        await PutAsync(StoreKeys.RecordingMaster(Slug, Broadcast), Master.Replace("audio/index.m3u8", $"../../audio/{Broadcast}.m3u8", StringComparison.Ordinal)
            .Replace("source/index.m3u8", $"../../source/{Broadcast}.m3u8", StringComparison.Ordinal));
        await PutAsync(StoreKeys.VodPlaylist(Slug, "source", Broadcast), Window(1, 30, ended: true));
        await PutAsync(StoreKeys.VodPlaylist(Slug, "audio", Broadcast), Window(1, 30, ended: true));
        var cut = await new StoreClipMedia(_store, _clips).WriteAsync(Request(ClipPoint.FromEnd(-60), ClipPoint.FromEnd(-50), recording: Broadcast),
            default);
        Assert.Equal((1L, 5L), (cut.FirstSegment, cut.LastSegment));
        Assert.Contains($"../../source/{Broadcast}-1.m4s", (await TextAsync(StoreKeys.ClipMediaPlaylist(Slug, "c1", "source")))!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-100.0, -90.0, "from", true, "before the oldest stored media")]
    [InlineData(20.0, 30.0, "to", true, "after the newest stored media")]
    [InlineData(9.0, 3.0, "to", false, "must be after 'from'")]
    [InlineData(0.0, 400.0, "to", false, "at most 300 seconds")]
    public async Task A_range_placed_outside_what_is_stored_is_refused_naming_the_field_and_nothing_is_written(double from, double to,
        string field, bool conflict, string message)
    {
        await StoreLiveAsync(1, 12);
        var error = await Assert.ThrowsAsync<ClipRangeException>(async () => await new StoreClipMedia(_store, _clips).WriteAsync(
            Request(ClipPoint.Time(T0.AddSeconds(from)), ClipPoint.Time(T0.AddSeconds(to))), default));
        Assert.Equal((field, conflict), (error.Field, error.Conflict));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
    }

    [Fact]
    public async Task Nothing_stored_or_a_damaged_playlist_is_a_conflict_saying_why()
    {
        var media = new StoreClipMedia(_store, _clips);
        var none = await Assert.ThrowsAsync<ClipRangeException>(async () => await media.WriteAsync(Request(ClipPoint.FromEnd(-4), ClipPoint.FromEnd(0)),
            default));
        Assert.True(none.Conflict);
        Assert.Contains("no broadcast stored", none.Message, StringComparison.Ordinal);

        await StoreLiveAsync(1, 12);
        await PutAsync(StoreKeys.MediaPlaylist(Slug, "audio"), "#EXTM3U\n#EXTINF:2.000,\nx.m4s\n");
        var damaged = await Assert.ThrowsAsync<ClipRangeException>(async () => await media.WriteAsync(Request(ClipPoint.FromEnd(-4),
            ClipPoint.FromEnd(0)), default));
        Assert.Contains("cannot be read: line 3", damaged.Message, StringComparison.Ordinal);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
    }

    /// <summary>
    /// A Common Encryption broadcast's clip names the same key: the master keeps its EXT-X-SESSION-KEY and each media
    /// playlist its EXT-X-KEY before the first map. A whole-segment (aes-128) one whose key URI names no KID is refused as
    /// a conflict saying why, since its ends could not be decrypted, and nothing of it is written.
    /// </summary>
    [Fact]
    public async Task A_protected_broadcast_s_clip_carries_its_key_tags_and_a_whole_segment_one_without_a_KID_is_refused()
    {
        var protection = StoredProtection.Cbcs;
        await StoreLiveAsync(1, 12);
        await PutAsync(StoreKeys.Master(Slug), Master.Replace("#EXT-X-INDEPENDENT-SEGMENTS\n",
            "#EXT-X-INDEPENDENT-SEGMENTS\n" + protection.SessionKeyTag + "\n", StringComparison.Ordinal));
        foreach (var r in new[] { "source", "audio" })
            await PutAsync(StoreKeys.MediaPlaylist(Slug, r), Window(1, 12).Replace("#EXT-X-MAP:", protection.KeyTag + "\n#EXT-X-MAP:",
                StringComparison.Ordinal));
        await new StoreClipMedia(_store, _clips).WriteAsync(Request(ClipPoint.FromEnd(-4), ClipPoint.FromEnd(0)), default);
        Assert.Contains("\n" + protection.SessionKeyTag + "\n", (await TextAsync(StoreKeys.ClipMaster(Slug, "c1")))!, StringComparison.Ordinal);
        foreach (var r in new[] { "source", "audio" })
        {
            string playlist = (await TextAsync(StoreKeys.ClipMediaPlaylist(Slug, "c1", r)))!;
            Assert.Contains("\n" + protection.KeyTag + "\n#EXT-X-MAP:", playlist, StringComparison.Ordinal);
        }

        await PutAsync(StoreKeys.Master(Slug), Master.Replace("#EXT-X-INDEPENDENT-SEGMENTS\n",
            "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"/live/show/key/0011\"\n",
            StringComparison.Ordinal));
        foreach (var r in new[] { "source", "audio" })
            await PutAsync(StoreKeys.MediaPlaylist(Slug, r), Window(1, 12).Replace("-init.mp4\"\n",
                "-init.mp4\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"/live/show/key/0011\"\n", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<ClipRangeException>(async () => await new StoreClipMedia(_store, _clips).WriteAsync(
            Request(ClipPoint.FromEnd(-4), ClipPoint.FromEnd(0), "c2"), default));
        Assert.True(refused.Conflict);
        Assert.Contains("names a whole-segment key URI with no KID ('/live/show/key/0011'", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await KeysAsync($"{Slug}/clips/c2/"));
    }

    [Fact]
    public async Task A_write_that_fails_midway_deletes_what_it_wrote()
    {
        await StoreLiveAsync(1, 12);
        var failing = new FailingStore(_store, failAfterPuts: 1);
        await Assert.ThrowsAsync<IOException>(async () => await new StoreClipMedia(failing, _clips).WriteAsync(
            Request(ClipPoint.FromEnd(-4), ClipPoint.FromEnd(0)), default));
        Assert.Equal(1, failing.Puts);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
    }

    [Fact]
    public async Task Deleting_a_clip_of_an_ended_replaced_broadcast_deletes_what_it_alone_held()
    {
        await StoreLiveAsync(1, 12);
        var media = new StoreClipMedia(_store, _clips);
        var cut = await media.WriteAsync(Request(ClipPoint.Time(T0.AddSeconds(3)), ClipPoint.Time(T0.AddSeconds(9))), default);
        // The next broadcast replaced the playlists; another clip holds segment 5.
        await PutAsync(StoreKeys.MediaPlaylist(Slug, "source"), "#EXTM3U\n");
        await PutAsync(StoreKeys.MediaPlaylist(Slug, "audio"), "#EXTM3U\n");
        _clips.Held.Add((5, 7));

        await media.DeleteAsync(Slug, Clip(cut), withSegments: true, default);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
        foreach (var r in new[] { "source", "audio" })
        {
            Assert.Null(await _store.GetAsync(StoreKeys.Segment(Slug, r, Broadcast, 2), default));
            Assert.Null(await _store.GetAsync(StoreKeys.Segment(Slug, r, Broadcast, 4), default));
            Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, r, Broadcast, 5), default)); // the other clip's
            Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, r, Broadcast, 1), default)); // never the clip's
            Assert.NotNull(await _store.GetAsync(StoreKeys.Init(Slug, r, Broadcast, 0), default)); // the other clip needs it
        }
    }

    [Fact]
    public async Task Deleting_a_clip_keeps_what_a_live_window_names_and_a_recording_s_segments()
    {
        await StoreLiveAsync(4, 12);
        var media = new StoreClipMedia(_store, _clips);
        var cut = await media.WriteAsync(Request(ClipPoint.Time(T0.AddSeconds(8)), ClipPoint.Time(T0.AddSeconds(16))), default);
        Assert.Equal((5L, 8L), (cut.FirstSegment, cut.LastSegment));

        // Ended, unrecorded, its playlists still name the window: those stay for retention; the init is named too.
        await media.DeleteAsync(Slug, Clip(cut, "c1"), withSegments: true, default);
        Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, "source", Broadcast, 5), default));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Init(Slug, "source", Broadcast, 0), default));

        // Replaced, but recorded: the recording keeps them.
        await media.WriteAsync(Request(ClipPoint.Time(T0.AddSeconds(8)), ClipPoint.Time(T0.AddSeconds(16)), id: "c2"), default);
        await PutAsync(StoreKeys.MediaPlaylist(Slug, "source"), "#EXTM3U\n");
        await PutAsync(StoreKeys.RecordingMaster(Slug, Broadcast), Master);
        await media.DeleteAsync(Slug, Clip(cut, "c2"), withSegments: true, default);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, "source", Broadcast, 5), default));

        // Playlists only (a clip refused after they were written): the segments stay whatever holds them.
        await _store.DeleteAsync([StoreKeys.RecordingMaster(Slug, Broadcast)], default);
        await PutAsync(StoreKeys.MediaPlaylist(Slug, "source"), Window(4, 12));
        await media.WriteAsync(Request(ClipPoint.Time(T0.AddSeconds(8)), ClipPoint.Time(T0.AddSeconds(16)), id: "c3"), default);
        await media.DeleteAsync(Slug, Clip(cut, "c3"), withSegments: false, default);
        Assert.Empty(await KeysAsync($"{Slug}/clips/"));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, "audio", Broadcast, 5), default));
    }

    [Fact]
    public async Task Deleting_a_recording_keeps_the_segments_a_clip_of_it_holds()
    {
        await StoreLiveAsync(1, 12);
        await PutAsync(StoreKeys.RecordingMaster(Slug, Broadcast), Master);
        await PutAsync(StoreKeys.VodPlaylist(Slug, "source", Broadcast), Window(1, 12, ended: true));
        _clips.Held.Add((5, 7));
        var recording = new global::Broadcast.Control.Recordings.Recording("r1", "channel", null, Broadcast, "/live/" + StoreKeys.RecordingMaster(Slug, Broadcast),
            "/live/" + StoreKeys.RecordingMpd(Slug, Broadcast), 24_000, 1, T0);
        await new StoreRecordingMedia(_store, new ClipRetentionHold(_clips)).DeleteAsync(recording, default);
        Assert.Null(await _store.GetAsync(StoreKeys.RecordingMaster(Slug, Broadcast), default));
        Assert.Null(await _store.GetAsync(StoreKeys.VodPlaylist(Slug, "source", Broadcast), default));
        Assert.Null(await _store.GetAsync(StoreKeys.Segment(Slug, "source", Broadcast, 4), default));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, "source", Broadcast, 5), default));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Segment(Slug, "audio", Broadcast, 7), default));
        Assert.NotNull(await _store.GetAsync(StoreKeys.Init(Slug, "audio", Broadcast, 0), default));
    }

    [Theory]
    [InlineData("20261121T054512Z-init.mp4", true)]
    [InlineData("20261121T054512Z-init-2.mp4", true)]
    [InlineData("20261121T054512Z-5.m4s", true)]
    [InlineData("20261121T054512Z-7.m4s", true)]
    [InlineData("20261121T054512Z-8.m4s", false)]
    [InlineData("20261121T054512Z-4.m4s", false)]
    [InlineData("20261121T054512Z-5.2.m4s", false)]
    [InlineData("20261121T054512Z.m3u8", false)]
    [InlineData("20261122T000000Z-5.m4s", false)]
    public async Task The_hold_covers_the_clipped_numbers_of_every_rendition_and_the_broadcast_s_inits(string name, bool held)
    {
        _clips.Held.Add((5, 7));
        var hold = new ClipRetentionHold(_clips);
        var keys = new[] { $"{Slug}/source/{name}", $"{Slug}/audio/{name}" };
        var answer = await hold.HeldAsync(Slug, Broadcast, keys, default);
        Assert.Equal(held ? keys.Length : 0, answer.Count);
        _clips.Held.Clear();
        Assert.Empty(await hold.HeldAsync(Slug, Broadcast, keys, default));
    }

    /// <summary>The packager waits for the hold between segments: a table that does not answer in time keeps the batch.</summary>
    [Fact]
    public async Task A_hold_that_does_not_answer_in_time_is_a_timeout_not_a_cancellation_of_the_packaging()
    {
        _clips.Delay = TimeSpan.FromMinutes(1);
        var hold = new ClipRetentionHold(_clips);
        await Assert.ThrowsAsync<TimeoutException>(async () => await hold.HeldAsync(Slug, Broadcast, [$"{Slug}/source/{Broadcast}-1.m4s"], default));
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await hold.HeldAsync(Slug, Broadcast, ["x"], stopping.Token));
    }

    private static Clip Clip(ClipCutResult cut, string id = "c1") =>
        new(id, "channel", "t", cut.BroadcastId, cut.StartsAt, cut.EndsAt, cut.FirstSegment, cut.LastSegment, T0, T0);

    private async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in _store.ListAsync(prefix, default)) keys.Add(key);
        return keys;
    }

    /// <summary>A store whose puts fail after the first <c>failAfterPuts</c>.</summary>
    private sealed class FailingStore(ISegmentStore inner, int failAfterPuts) : ISegmentStore
    {
        public int Puts { get; private set; }

        public ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
        {
            if (Puts >= failAfterPuts) throw new IOException("disk full");
            Puts++;
            return inner.PutAsync(key, data, contentType, cacheControl, cancellationToken);
        }

        public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}
