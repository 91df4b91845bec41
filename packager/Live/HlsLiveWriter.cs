using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// The live HLS playlists of one broadcast (RFC 8216): each rendition's media playlist over its window, rewritten with
/// every segment (and, with low latency, every part), the master once every rendition has a segment (and again when
/// what it declares has stopped being true), and the ended playlists (EXT-X-ENDLIST) at the end.
/// </summary>
internal sealed class HlsLiveWriter(PackagedBroadcast broadcast, LowLatencyParts? lowLatency) : IPackagerListener
{
    /// <summary>
    /// How far a rendition's measured peak segment bitrate may rise above the BANDWIDTH the stored master declares
    /// before the master is written again: RFC 8216 section 4.3.4.2 asks for the peak, and Apple's HLS authoring
    /// specification holds a measured peak within 10 % of it. Below that the master stays as it is, so a broadcast
    /// rewrites it a handful of times (each rise at least a tenth), not at every segment.
    /// </summary>
    public const int PeakToleranceTenths = 1;

    // What the stored master declares for each rendition: its peak bitrate and frame rate when it was written.
    private readonly Dictionary<string, (long Peak, FrameRate? Rate)> _declared = new(StringComparer.Ordinal);

    // Renditions whose stored delta update (StoreKeys.MediaPlaylistDelta) is known to be gone: deleted and none written
    // since, so a short playlist costs one delete, not one per segment.
    private readonly HashSet<string> _deltaCleared = new(StringComparer.Ordinal);

    /// <summary>The master as it stands was stored; it is otherwise written once per broadcast, and again when outgrown.</summary>
    public bool MasterWritten { get; private set; }

    public Task OnSegmentsAddedAsync(CancellationToken cancellationToken) => WriteAsync(PlaylistState.Live, cancellationToken);

    public Task OnEndedAsync(CancellationToken cancellationToken) => WriteAsync(PlaylistState.Ended, cancellationToken);

    /// <summary>The master must drop a retired variant or name the captions: it is written again.</summary>
    public Task OnLadderChangedAsync(CancellationToken cancellationToken)
    {
        MasterWritten = false;
        return WriteAsync(PlaylistState.Live, cancellationToken);
    }

    /// <summary>Its playlist ends: a player pinned to it stops asking for segments that will never come.</summary>
    public async Task OnRenditionRetiringAsync(RenditionTimeline timeline, CancellationToken cancellationToken)
    {
        if (timeline.Entries.Count == 0) return;
        string text = HlsPlaylistWriter.WriteMediaPlaylist(timeline, broadcast.BroadcastId, broadcast.WindowStart(timeline), PlaylistState.Ended,
            broadcast.Breaks.Placed, protection: broadcast.ManifestProtection());
        await PutWithDeltaAsync(timeline, text, PlaylistState.Ended, CachePolicies.Ended(broadcast.Options), broadcast.LastNumber(),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rewrites the media playlists of renditions that gained parts (no segment closed: master and MPD stay).</summary>
    public async Task OnPartsAddedAsync(IReadOnlySet<string> renditions, CancellationToken cancellationToken)
    {
        string cache = CachePolicies.Live(broadcast.Options);
        long last = broadcast.LastNumber();
        foreach (var t in broadcast.AllTimelines())
        {
            if (!renditions.Contains(t.Name) || t.Entries.Count == 0 || t.Retired) continue;
            await PutMediaPlaylistAsync(t, PlaylistState.Live, cache, last, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(PlaylistState state, CancellationToken cancellationToken)
    {
        string cache = state == PlaylistState.Live ? CachePolicies.Live(broadcast.Options) : CachePolicies.Ended(broadcast.Options);
        long last = broadcast.LastNumber();
        // The master waits until every rendition has a segment, so BANDWIDTH and CODECS are measured, not guessed.
        bool allHave = broadcast.AllTimelines().All(t => t.Entries.Count > 0 || t.Retired);
        bool writeMaster = allHave && (!MasterWritten || state != PlaylistState.Live || Outgrown());
        // At the end the master goes first: once a media playlist says EXT-X-ENDLIST, the master beside it declares the
        // whole broadcast's peaks (written after them, a reader that saw the end could still get the live master). While
        // live it goes last: its first write names playlists that must exist by then.
        if (writeMaster && state != PlaylistState.Live) await PutMasterAsync(cache, last, cancellationToken).ConfigureAwait(false);
        foreach (var t in broadcast.AllTimelines())
        {
            // A retired rendition's ended playlist was written when it retired; it does not change while live.
            if (t.Entries.Count == 0 || (t.Retired && state == PlaylistState.Live)) continue;
            await PutMediaPlaylistAsync(t, state, cache, last, cancellationToken).ConfigureAwait(false);
        }
        if (writeMaster && state == PlaylistState.Live) await PutMasterAsync(cache, last, cancellationToken).ConfigureAwait(false);
    }

    private async Task PutMasterAsync(string cache, long last, CancellationToken cancellationToken)
    {
        string master = HlsPlaylistWriter.WriteMaster(broadcast.VideoTimelines, broadcast.AudioTimeline, r => $"{r}/index.m3u8",
            broadcast.Captions, broadcast.AlternateAudioTimelines, broadcast.ManifestProtection());
        await broadcast.PutManifestAsync(StoreKeys.Master(broadcast.Channel), master, ContentTypes.Hls, cache, last,
            cancellationToken).ConfigureAwait(false);
        MasterWritten = true;
        _declared.Clear();
        foreach (var t in broadcast.AllTimelines()) _declared[t.Name] = (t.PeakBitrate, t.FrameRate);
    }

    /// <summary>
    /// True when the stored master no longer describes the media: a rendition's peak segment bitrate rose more than
    /// <see cref="PeakToleranceTenths"/> tenths above its declared BANDWIDTH (the first master measured one segment), or
    /// its measured frame rate settled on another value than the one declared.
    /// </summary>
    private bool Outgrown()
    {
        foreach (var t in broadcast.AllTimelines())
        {
            if (t.Retired || t.Entries.Count == 0 || !_declared.TryGetValue(t.Name, out var declared)) continue;
            if (t.PeakBitrate * 10 > declared.Peak * (10 + PeakToleranceTenths)) return true;
            if (ManifestFrameRate.IsAnotherRate(t.FrameRate, declared.Rate)) return true;
        }

        return false;
    }

    /// <summary>A live playlist of a low-latency broadcast gets its parts, hint and rendition reports; others are unchanged.</summary>
    private Task PutMediaPlaylistAsync(RenditionTimeline t, PlaylistState state, string cache, long last, CancellationToken cancellationToken)
    {
        var protection = broadcast.ManifestProtection();
        string text = HlsPlaylistWriter.WriteMediaPlaylist(t, broadcast.BroadcastId, broadcast.WindowStart(t), state, broadcast.Breaks.Placed,
            deltaUpdates: broadcast.RewindSeconds > 0, protection: protection);
        if (lowLatency is not null && state == PlaylistState.Live)
        {
            var others = broadcast.AllTimelines().Where(o => !o.Retired && o.Entries.Count > 0).Select(o => o.Name);
            text = LowLatencyPlaylist.Decorate(text, lowLatency.View(t.Name, others), protection);
        }
        return PutWithDeltaAsync(t, text, state, cache, last, cancellationToken);
    }

    /// <summary>
    /// A rewind window's playlist (not low latency: its playlist changes with every part, and the origin makes its delta
    /// updates from the text it already reads for a blocking reload) goes with its delta update, stored first, so a
    /// player asking <c>_HLS_skip=YES</c> gets one of the same age or newer. An ended playlist, or one too short to skip
    /// anything, has none: the stored one goes (once per broadcast while short, so a stale one of an earlier broadcast
    /// cannot be served).
    /// </summary>
    private async Task PutWithDeltaAsync(RenditionTimeline t, string text, PlaylistState state, string cache, long last,
        CancellationToken cancellationToken)
    {
        if (lowLatency is null && broadcast.RewindSeconds > 0)
        {
            string deltaKey = StoreKeys.MediaPlaylistDelta(broadcast.Channel, t.Name);
            string? delta = state == PlaylistState.Live ? LowLatencyPlaylist.ToDeltaUpdate(text) : null;
            if (delta is not null)
            {
                await broadcast.Store.PutAsync(deltaKey, System.Text.Encoding.UTF8.GetBytes(delta), ContentTypes.Hls, cache, cancellationToken)
                    .ConfigureAwait(false);
                _deltaCleared.Remove(t.Name);
            }
            else if (_deltaCleared.Add(t.Name))
            {
                await broadcast.Store.DeleteAsync([deltaKey], cancellationToken).ConfigureAwait(false);
            }
        }
        await broadcast.PutManifestAsync(StoreKeys.MediaPlaylist(broadcast.Channel, t.Name), text, ContentTypes.Hls, cache, last, cancellationToken)
            .ConfigureAwait(false);
    }
}
