using System.Collections.Concurrent;
using System.Globalization;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin;

/// <summary>What a blocking playlist reload came to.</summary>
internal enum BlockOutcome
{
    /// <summary>The playlist holds what was asked for (or is not a live low-latency playlist): serve it.</summary>
    Ready,

    /// <summary>Further ahead than RFC 8216bis 6.2.5.2 lets a client ask (<see cref="BlockingPlaylistReload"/>): 400.</summary>
    TooFarAhead,

    /// <summary>Not there within three target durations: 503.</summary>
    TimedOut,
}

/// <summary>The LL-HLS delivery directives of a playlist request (RFC 8216bis 6.2.5).</summary>
internal readonly record struct LowLatencyQuery(long? Msn, int? Part, bool Skip)
{
    /// <summary>False for a malformed directive (a non-number, _HLS_part without _HLS_msn): 400.</summary>
    public static bool TryParse(IQueryCollection query, out LowLatencyQuery result)
    {
        result = default;
        long? msn = null;
        int? part = null;
        if (query.TryGetValue("_HLS_msn", out var m))
        {
            if (!long.TryParse(m.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return false;
            msn = v;
        }
        if (query.TryGetValue("_HLS_part", out var p))
        {
            if (msn is null || !int.TryParse(p.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int v)) return false;
            part = v;
        }
        bool skip = query.TryGetValue("_HLS_skip", out var s) && (s == "YES" || s == "v2");
        result = new LowLatencyQuery(msn, part, skip);
        return true;
    }
}

/// <summary>
/// LL-HLS at the origin: holds a blocking playlist reload until the playlist lists the part asked for, holds a
/// request for the preload-hinted part until it is stored, and makes delta updates. It learns of new objects from
/// <see cref="ObjectArrivals"/> (puts through this process's store, or PostgreSQL notifications on an origin-only
/// node); such a node looks again every <see cref="OriginOptions.BlockingRecheckMilliseconds"/>, when that is set,
/// only while it receives no notifications.
/// </summary>
internal sealed class LowLatencyGate(ISegmentStore store, ObjectArrivals arrivals, TimeProvider time, IOptions<OriginOptions> options)
{
    /// <summary>Used when a playlist names no target duration: the longest segment target allowed (10 s).</summary>
    private const long FallbackTargetSeconds = 10;

    /// <summary>Bound on wake-ups per request: each is a put in the folder, a few per second.</summary>
    private const int MaxWakeUps = 10_000;

    private readonly ConcurrentDictionary<string, (string ETag, StoredObject Delta)> _deltas = new(StringComparer.Ordinal);
    private readonly int _recheckMs = options.Value.BlockingRecheckMilliseconds;

    /// <summary>
    /// Waits until the playlist at <paramref name="key"/> holds segment <paramref name="msn"/> (part <paramref name="part"/>),
    /// by the rules of <see cref="BlockingPlaylistReload"/>. Also says where the playlist stood when it decided.
    /// </summary>
    public async Task<(BlockOutcome Outcome, LowLatencyPlaylist.Position Position)> WaitForPlaylistAsync(string key, long msn, int? part,
        CancellationToken cancellationToken)
    {
        string folder = ObjectArrivals.FolderOf(key);
        DateTimeOffset? deadline = null;
        LowLatencyPlaylist.Position position = default;
        for (int i = 0; i < MaxWakeUps; i++)
        {
            Task arrival = arrivals.NextIn(folder);
            StoredObject? playlist = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (playlist is null) return (BlockOutcome.Ready, position); // 404 as usual
            position = LowLatencyPlaylist.ReadPosition(playlist.Data.Span);
            switch (BlockingPlaylistReload.Decide(position, msn, part))
            {
                case BlockingReloadDecision.Ready:
                    return (BlockOutcome.Ready, position);
                case BlockingReloadDecision.TooFarAhead:
                    return (BlockOutcome.TooFarAhead, position);
            }
            deadline ??= time.GetUtcNow() + TimeSpan.FromSeconds(LowLatencyPlaylist.BlockingTargetDurations
                * (position.TargetSeconds > 0 ? position.TargetSeconds : FallbackTargetSeconds));
            if (!await WaitAsync(arrival, deadline.Value, cancellationToken).ConfigureAwait(false)) return (BlockOutcome.TimedOut, position);
        }
        return (BlockOutcome.TimedOut, position);
    }

    /// <summary>True for a part's key (<c>…/{broadcastId}-{n}.{k}.m4s</c>).</summary>
    public static bool IsPartKey(string key) => LowLatencyPlaylist.TryParsePartName(key, out _, out _);

    /// <summary>
    /// A part not stored yet: when the rendition's playlist hints it (or the one after), waits until it is stored,
    /// at most three target durations. Null when it does not come (404).
    /// </summary>
    public async Task<StoredObject?> WaitForPartAsync(string key, CancellationToken cancellationToken)
    {
        if (!LowLatencyPlaylist.TryParsePartName(key, out long number, out int index)) return null;
        string folder = ObjectArrivals.FolderOf(key);
        DateTimeOffset? deadline = null;
        for (int i = 0; i < MaxWakeUps; i++)
        {
            Task arrival = arrivals.NextIn(folder);
            if (await store.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } part) return part;
            // Still hinted? A hint that moved on without this part (it will not come) ends the wait at once.
            StoredObject? playlist = await store.GetAsync(folder + "/index.m3u8", cancellationToken).ConfigureAwait(false);
            if (playlist is null) return null;
            var position = LowLatencyPlaylist.ReadPosition(playlist.Data.Span);
            bool hinted = position.HasHint
                && ((number == position.NextMsn && index >= position.NextPart && index <= position.NextPart + 1)
                    || (number == position.NextMsn + 1 && index == 0));
            if (!hinted) return null;
            deadline ??= time.GetUtcNow() + TimeSpan.FromSeconds(LowLatencyPlaylist.BlockingTargetDurations * Math.Max(1, position.TargetSeconds));
            if (!await WaitAsync(arrival, deadline.Value, cancellationToken).ConfigureAwait(false)) return null;
        }
        return null;
    }

    /// <summary>
    /// LL-DASH: a segment of a low-latency rendition that is being written (its playlist's hint is in it, or it is
    /// the next one) is sent as it grows, one part after another with chunked transfer, and ends with the rest of the
    /// finished segment (the segment is its parts' concatenation). False when the segment is not in progress (404).
    /// Each wait for the next part lasts at most three target durations; a stall after the first bytes aborts the
    /// response, so no cache keeps a truncated segment.
    /// </summary>
    public async Task<bool> TryStreamGrowingSegmentAsync(HttpContext context, string key)
    {
        var cancellationToken = context.RequestAborted;
        string name = key[(key.LastIndexOf('/') + 1)..];
        int dash = name.LastIndexOf('-');
        if (!name.EndsWith(".m4s", StringComparison.Ordinal) || dash < 0
            || !long.TryParse(name.AsSpan(dash + 1, name.Length - dash - 5), NumberStyles.None, CultureInfo.InvariantCulture, out long number))
            return false;
        string folder = ObjectArrivals.FolderOf(key);
        string broadcastId = name[..dash];
        StoredObject? playlist = await store.GetAsync(folder + "/index.m3u8", cancellationToken).ConfigureAwait(false);
        if (playlist is null) return false;
        var position = LowLatencyPlaylist.ReadPosition(playlist.Data.Span);
        if (!position.HasHint || (number != position.NextMsn && number != position.NextMsn + 1)) return false;
        // An AES-128 broadcast encrypts each part and the segment whole, each alone (RFC 8216bis §4.4.4.4): parts sent one
        // after another would not decrypt as the segment. It has no DASH, and HLS players ask for parts or whole segments.
        if (HlsContentProtection.NamesWholeSegmentKey(playlist.Data.Span)) return false;
        var wait = TimeSpan.FromSeconds(LowLatencyPlaylist.BlockingTargetDurations * Math.Max(1, position.TargetSeconds));

        var response = context.Response;
        long sent = 0;
        int part = 0;
        var deadline = time.GetUtcNow() + wait;
        for (int i = 0; i < MaxWakeUps; i++)
        {
            Task arrival = arrivals.NextIn(folder);
            if (await store.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } segment)
            {
                if (sent == 0) Start(response, segment.ContentType);
                if (segment.Data.Length > sent) await response.BodyWriter.WriteAsync(segment.Data[(int)sent..],
                    cancellationToken).ConfigureAwait(false);
                return true;
            }
            if (await store.GetAsync($"{folder}/{LowLatencyPlaylist.PartName(broadcastId, number, part)}",
                cancellationToken).ConfigureAwait(false) is { } chunk)
            {
                if (sent == 0) Start(response, chunk.ContentType);
                await response.BodyWriter.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                sent += chunk.Data.Length;
                part++;
                deadline = time.GetUtcNow() + wait;
                continue;
            }
            if (!await WaitAsync(arrival, deadline, cancellationToken).ConfigureAwait(false)) break;
        }
        if (sent == 0) return false;
        context.Abort();
        return true;
    }

    private static void Start(HttpResponse response, string contentType)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = string.IsNullOrEmpty(contentType) ? "video/mp4" : contentType;
        // The bytes are the final segment's: as cacheable as the segment itself once complete (a private stream's
        // response is made viewer-only before it starts, by PlaybackGate.KeepViewerOnly, like every other answer).
        response.Headers.CacheControl = "public, max-age=31536000, immutable";
        // nginx (and proxies that honour it) pass each chunk on at once instead of buffering the growing body.
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>
    /// The delta update the packager stored beside a rewind window's live playlist (<see cref="StoreKeys.MediaPlaylistDelta"/>),
    /// when <paramref name="query"/> asks for one without blocking: a few hundred bytes to read instead of the whole window,
    /// which an origin that reads playlists from a store another node writes would otherwise read and hash per request.
    /// Null when none is stored (a low-latency or short playlist: <see cref="DeltaOf"/> makes it from the playlist).
    /// </summary>
    public async Task<StoredObject?> StoredDeltaAsync(string key, LowLatencyQuery query, CancellationToken cancellationToken) =>
        query.Skip && query.Msn is null && StoreKeys.MediaPlaylistDeltaOf(key) is { } deltaKey
            ? await store.GetAsync(deltaKey, cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>The delta update of a stored low-latency playlist, or the playlist itself when nothing can be skipped.</summary>
    public StoredObject DeltaOf(string key, StoredObject playlist)
    {
        if (_deltas.TryGetValue(key, out var cached) && cached.ETag == playlist.ETag) return cached.Delta;
        string? delta = LowLatencyPlaylist.ToDeltaUpdate(System.Text.Encoding.UTF8.GetString(playlist.Data.Span));
        if (delta is null) return playlist;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(delta);
        var result = playlist with { Data = bytes, ETag = RecentObjectCache.ComputeETag(bytes) };
        // One entry per playlist key, so the count is bounded by the live renditions; a flood of bogus keys cannot get here (they 404).
        if (_deltas.Count > 4096) _deltas.Clear();
        _deltas[key] = (playlist.ETag, result);
        return result;
    }

    /// <summary>True when <paramref name="arrival"/> completed (or a recheck is due) before the deadline.</summary>
    private async Task<bool> WaitAsync(Task arrival, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        TimeSpan remaining = deadline - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero) return false;
        if (_recheckMs > 0 && !arrivals.Subscribed
            && remaining > TimeSpan.FromMilliseconds(_recheckMs)) remaining = TimeSpan.FromMilliseconds(_recheckMs);
        try
        {
            await arrival.WaitAsync(remaining, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return time.GetUtcNow() < deadline;
        }
    }
}
