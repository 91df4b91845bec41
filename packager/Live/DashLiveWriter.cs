using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// The live DASH MPD of one broadcast: dynamic over the leader's window (low-latency DASH when the broadcast has parts),
/// rewritten with every segment and whenever the ladder changes, and static once the broadcast ended. None for a broadcast
/// encrypted whole for HLS (AES-128), which DASH cannot describe.
/// </summary>
internal sealed class DashLiveWriter(PackagedBroadcast broadcast, LowLatencyParts? lowLatency) : IPackagerListener
{
    public Task OnSegmentsAddedAsync(CancellationToken cancellationToken) => WriteAsync(PlaylistState.Live, cancellationToken);

    public Task OnLadderChangedAsync(CancellationToken cancellationToken) => WriteAsync(PlaylistState.Live, cancellationToken);

    public Task OnEndedAsync(CancellationToken cancellationToken) => WriteAsync(PlaylistState.Ended, cancellationToken);

    private bool _staleMpdDeleted;

    private async Task WriteAsync(PlaylistState state, CancellationToken cancellationToken)
    {
        if (!broadcast.AllTimelines().Any(t => t.Entries.Count > 0)) return;
        if (broadcast.Protection is { WholeSegment: true })
        {
            // DASH has no whole-segment encryption (its players decrypt CENC samples only, ISO/IEC 23009-1 §5.8.4.1): an
            // AES-128 broadcast writes no MPD, and an earlier broadcast's goes, so the origin answers 404 rather than a
            // manifest of other media.
            if (!_staleMpdDeleted)
            {
                await broadcast.Store.DeleteAsync([StoreKeys.Mpd(broadcast.Channel)], cancellationToken).ConfigureAwait(false);
                _staleMpdDeleted = true;
            }
            return;
        }
        string cache = state == PlaylistState.Live ? CachePolicies.Live(broadcast.Options) : CachePolicies.Ended(broadcast.Options);
        string mpd = DashManifestWriter.Write(broadcast.VideoTimelines, broadcast.AudioTimeline,
            broadcast.MpdSettings(LeaderWindowFirstNumber(), isStatic: state != PlaylistState.Live, ""), broadcast.AlternateAudioTimelines);
        if (lowLatency is not null && state == PlaylistState.Live)
            mpd = LowLatencyMpd.Decorate(mpd, new LowLatencyMpdSettings(broadcast.Options.SegmentSeconds, lowLatency.PartTargetMilliseconds,
                broadcast.MpdSettings(1, false, "").AvailabilityStartTime, broadcast.Options.LowLatencyTargetMilliseconds));
        await broadcast.PutManifestAsync(StoreKeys.Mpd(broadcast.Channel), mpd, ContentTypes.Dash, cache, broadcast.LastNumber(), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The MPD names every rendition from the first number of the first rendition's window that has segments.</summary>
    private long LeaderWindowFirstNumber()
    {
        var lead = broadcast.AllTimelines().FirstOrDefault(t => t.Entries.Count > 0);
        if (lead is null) return 1;
        int start = broadcast.WindowStart(lead);
        return lead.Entries[Math.Min(start, lead.Entries.Count - 1)].Number;
    }
}
