using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// The recording (VOD) of a recorded broadcast: once it ended, every rendition's whole-broadcast media playlist
/// (EXT-X-PLAYLIST-TYPE:VOD), a master and a static MPD (none for an AES-128 broadcast) under <c>recordings/{broadcastId}/</c> that name them, and its poster
/// (the last live thumbnail). It counts
/// what the recording holds as it is stored (segments, init segments, those manifests, the poster), so <see cref="Recorded"/> needs
/// no read of the store. A broadcast continued here after its node died holds only what the live state restored: the
/// segments before it (numbers up to <paramref name="historyThrough"/>) come back from the <see cref="RecordingJournal"/>.
/// </summary>
internal sealed class RecordingWriter(PackagedBroadcast broadcast, long historyThrough) : IPackagerListener
{
    private long _bytes;

    /// <summary>Journal chunks the recording could not read (their segments are a gap in it); empty when none.</summary>
    public IReadOnlyList<string> HistoryProblems { get; private set; } = [];

    /// <summary>The recording's duration and size; null until the broadcast ended and its manifests are stored.</summary>
    public RecordedMedia? Recorded { get; private set; }

    public void OnInitStored(string rendition, int initVersion, long bytes) => _bytes += bytes;

    public void OnSegmentStored(Segmenting.SegmentDescription segment) => _bytes += segment.ByteSize;

    public async Task OnEndedAsync(CancellationToken cancellationToken)
    {
        string channel = broadcast.Channel, id = broadcast.BroadcastId;
        long last = broadcast.LastNumber();
        long bytes = _bytes;
        var (timelines, wholeHistory, journaledKeys) = await WholeTimelinesAsync(cancellationToken).ConfigureAwait(false);
        var protection = WithJournaledKeys(broadcast.ManifestProtection(), journaledKeys);
        foreach (var t in timelines)
        {
            if (t.Entries.Count == 0) continue;
            string text = HlsPlaylistWriter.WriteMediaPlaylist(t, id, 0, PlaylistState.Vod, broadcast.Breaks.Placed, protection: protection);
            bytes += await broadcast.PutManifestAsync(StoreKeys.VodPlaylist(channel, t.Name, id), text, ContentTypes.Hls, CachePolicies.Vod, last,
                cancellationToken)
                .ConfigureAwait(false);
        }
        var withSegments = timelines.Where(t => t.Kind == Media.MediaKind.Video && t.Entries.Count > 0).ToList();
        // The default audio first, then the alternate tracks: every language the broadcast carried is kept.
        var audios = timelines.Where(t => t.Kind == Media.MediaKind.Audio && t.Entries.Count > 0).ToList();
        var audio = audios.FirstOrDefault();
        var alternates = audios.Skip(1).ToList();
        string master = HlsPlaylistWriter.WriteMaster(withSegments, audio, r => $"{StoreKeys.RecordingToChannel}{r}/{id}.m3u8", broadcast.Captions,
            alternates, protection);
        bytes += await broadcast.PutManifestAsync(StoreKeys.RecordingMaster(channel, id), master, ContentTypes.Hls, CachePolicies.Vod, last,
            cancellationToken)
            .ConfigureAwait(false);
        // A broadcast encrypted whole for HLS (AES-128) has no MPD: DASH cannot carry that encryption.
        bool hasMpd = protection is not { WholeSegment: true };
        if (hasMpd)
        {
            var settings = broadcast.MpdSettings(1, isStatic: true, StoreKeys.RecordingToChannel);
            // With the journal's history the timelines begin where the broadcast began: Periods count from there, as on its first node.
            if (wholeHistory) settings = settings with { PresentationOrigin = null, PeriodIdBase = 0, FirstPeriodStart = null };
            string mpd = DashManifestWriter.Write(withSegments, audio, settings, alternates);
            bytes += await broadcast.PutManifestAsync(StoreKeys.RecordingMpd(channel, id), mpd, ContentTypes.Dash, CachePolicies.Vod, last,
                cancellationToken)
                .ConfigureAwait(false);
        }
        bytes += await KeepPosterAsync(channel, id, cancellationToken).ConfigureAwait(false);

        // The duration is the first variant's: the rendition the master names first (retired ones it leaves out), as its
        // VOD playlist's EXTINFs add up.
        var first = withSegments.FirstOrDefault(t => !t.Retired) ?? audio;
        Recorded = first is null
            ? new RecordedMedia(0, Media.Timescales.Milliseconds, bytes, hasMpd)
            : new RecordedMedia(first.ListedDuration, first.Timescale, bytes, hasMpd);
    }

    /// <summary>
    /// A continued rotated broadcast's protection for its recording: the key periods this node knows (those its live state
    /// restored, and its own) with, before them, those the journal names, so each segment the dead node packaged is named
    /// under its own key. This node's period wins where both name one from the same segment.
    /// </summary>
    internal static ManifestProtection? WithJournaledKeys(ManifestProtection? protection, IReadOnlyList<ManifestKeyPeriod> journaled)
    {
        if (protection is null || journaled.Count == 0) return protection;
        var periods = new SortedDictionary<long, ManifestKeyPeriod>();
        foreach (var p in protection.Rotations) periods[p.FirstSegment] = p;
        foreach (var p in journaled) periods.TryAdd(p.FirstSegment, p);
        return protection with { Rotations = [.. periods.Values] };
    }

    /// <summary>
    /// Every rendition's timeline for the recording: the live ones, or for a continued broadcast with a journal, new ones
    /// holding the journaled segments before the restored ones, each with the decoder description the journal kept (the
    /// rendition's current one where none was). <c>WholeHistory</c>: the timelines were rebuilt from the journal;
    /// <c>KeyPeriods</c>: the later key periods the journal named.
    /// </summary>
    private async Task<(IReadOnlyList<RenditionTimeline> Timelines, bool WholeHistory, IReadOnlyList<ManifestKeyPeriod> KeyPeriods)> WholeTimelinesAsync(
        CancellationToken cancellationToken)
    {
        var live = broadcast.AllTimelines().ToList();
        if (broadcast.ContinuedFrom is null || historyThrough <= 0) return (live, false, []);
        var history = await RecordingJournal.LoadAsync(broadcast.Store, broadcast.Channel, broadcast.BroadcastId, historyThrough, cancellationToken)
            .ConfigureAwait(false);
        HistoryProblems = history.Problems;
        var whole = new List<RenditionTimeline>(live.Count);
        foreach (var t in live)
        {
            if (t.Entries.Count == 0 || t.Track is not { } track || !history.Segments.TryGetValue(t.Name, out var earlier))
            {
                whole.Add(t);
                continue;
            }
            var rebuilt = new RenditionTimeline(t.Name, t.Kind) { AudioLabel = t.AudioLabel };
            long firstLive = t.Entries[0].Number, discontinuities = 0;
            int timescale = t.Entries[0].Segment.Timescale;
            foreach (var (s, scale, kept) in earlier)
            {
                if (s.Number >= firstLive) break;
                // One timescale per timeline (the MPD's SegmentTimeline has one): a journal in another one is left out.
                if (scale != timescale) continue;
                rebuilt.Add(s.ToDescription(rebuilt, scale, broadcast.BroadcastId, kept ?? track), s.ProgramDateTime);
                if (s.Discontinuity) discontinuities++;
            }
            foreach (var e in t.Entries) rebuilt.Add(e.Segment, e.ProgramDateTime);
            rebuilt.DiscontinuitiesBefore = Math.Max(0, t.DiscontinuitiesBefore - discontinuities);
            if (t.Retired) rebuilt.Retire();
            whole.Add(rebuilt);
        }
        return (whole, true, history.KeyPeriods);
    }

    /// <summary>
    /// The channel's last live thumbnail becomes the recording's poster (the watch page's picture before playback and its
    /// link preview). A broadcast too short for a thumbnail has none. Returns the bytes stored.
    /// </summary>
    private async Task<long> KeepPosterAsync(string channel, string id, CancellationToken cancellationToken)
    {
        if (await broadcast.Store.GetAsync(StoreKeys.Thumbnail(channel), cancellationToken).ConfigureAwait(false) is not { } thumbnail) return 0;
        await broadcast.Store.PutAsync(StoreKeys.RecordingPoster(channel, id), thumbnail.Data, ContentTypes.Jpeg, CachePolicies.Vod,
            cancellationToken)
            .ConfigureAwait(false);
        return thumbnail.Data.Length;
    }
}
