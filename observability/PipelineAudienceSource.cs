using Broadcast.Control.Analytics;
using Broadcast.Origin;
using Broadcast.Origin.Cmcd;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.WebRtc.Whep;

namespace Broadcast.Observability;

/// <summary>
/// The audience sampler's view of this node (<see cref="IAudienceSource"/>): the origin's viewer sessions of each channel
/// named by its broadcast's id, and its WHEP viewers (read once a bucket from <paramref name="whep"/>: the sessions with media
/// then and those that ended since the read before, each its own viewer). The broadcast is the one the packager runs here,
/// else the one the channel's live state in the store names (<see cref="LiveBroadcastState"/>: a node that packages none, an origin-only node); a channel with
/// neither is left out. Each sample carries what the channel's CMCD players said in the bucket (<paramref name="cmcd"/>'s
/// <see cref="CmcdAudience.Sample"/>), also for a channel whose CMCD requests were none of the counted kinds.
/// </summary>
internal sealed class PipelineAudienceSource(ViewerSessions sessions, IPackagerStatus? packager, Func<IReadOnlyList<WhepSessionGrant>>? whep = null,
    ISegmentStore? store = null, TimeProvider? time = null, CmcdAudience? cmcd = null)
    : IAudienceSource
{
    /// <summary>How long a broadcast id read from the store is used before it is read again (a new broadcast shows within it).</summary>
    private static readonly TimeSpan StoredIdLifetime = TimeSpan.FromSeconds(10);

    /// <summary>Channels remembered at most: they come from served objects, so real channels; a bound all the same.</summary>
    private const int MaxRemembered = 10_000;

    private readonly Dictionary<string, (string? Id, DateTimeOffset ReadAt)> _stored = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async ValueTask<IReadOnlyList<LiveAudienceSample>> SampleAsync(long bucketStart, CancellationToken cancellationToken)
    {
        var realTime = new Dictionary<string, List<LiveViewer>>(StringComparer.Ordinal);
        // A WHEP viewer sends no CMCD: its flags stay false.
        foreach (var grant in whep?.Invoke() ?? [])
        {
            if (!realTime.TryGetValue(grant.Channel, out var list)) realTime[grant.Channel] = list = [];
            list.Add(new LiveViewer(ViewerSessions.IdentityOf(grant.Id), bucketStart, bucketStart, "whep"));
        }

        var quality = new Dictionary<string, PlaybackQualityCounts>(StringComparer.Ordinal);
        foreach (var said in cmcd?.Sample(bucketStart) ?? []) quality[said.Channel] = Quality(said);

        var samples = new List<LiveAudienceSample>();
        foreach (var channel in sessions.Sample(bucketStart))
        {
            if (await BroadcastOfAsync(channel.Channel, cancellationToken).ConfigureAwait(false) is not { } broadcastId) continue;
            var viewers = channel.Sessions.Select(s => new LiveViewer(s.Viewer, s.FirstBucket, s.LastBucket, Name(s.Delivery),
                s.Cmcd.HasFlag(ViewerCmcd.Sent), s.Cmcd.HasFlag(ViewerCmcd.Stalled), s.Rung)).ToList();
            int whepViewers = 0;
            if (realTime.Remove(channel.Channel, out var joining))
            {
                viewers.AddRange(joining);
                whepViewers = joining.Count;
            }

            quality.Remove(channel.Channel, out var said);
            samples.Add(new LiveAudienceSample(channel.Channel, broadcastId, channel.Viewers + whepViewers, channel.Hls, channel.LowLatencyHls,
                channel.Dash, viewers, channel.Uncounted, whepViewers, said, channel.NotFound, channel.Unavailable));
        }

        // Channels watched over WHEP alone in this bucket.
        foreach (var (channel, viewers) in realTime)
        {
            if (await BroadcastOfAsync(channel, cancellationToken).ConfigureAwait(false) is not { } broadcastId) continue;
            quality.Remove(channel, out var said);
            samples.Add(new LiveAudienceSample(channel, broadcastId, viewers.Count, 0, 0, 0, viewers, 0, viewers.Count, said));
        }

        // Channels whose players sent CMCD in this bucket with no counted request (a master playlist, malformed values).
        foreach (var (channel, said) in quality)
        {
            if (await BroadcastOfAsync(channel, cancellationToken).ConfigureAwait(false) is not { } broadcastId) continue;
            samples.Add(new LiveAudienceSample(channel, broadcastId, 0, 0, 0, 0, [], 0, 0, said));
        }

        return samples;
    }

    /// <summary>The origin's counts as control keeps them (the startup bins are the same bounds: <c>CmcdQualitySampleTests</c>).</summary>
    private static PlaybackQualityCounts Quality(CmcdBucketSample s) => new(s.Sessions, s.StalledSessions, s.Stalls, s.Startups, s.StartupMsSum,
        s.StartupBins, s.BitrateSamples, s.BitrateKbpsSum, s.ThroughputSamples, s.ThroughputKbpsSum, s.RungSwitches, s.MalformedValues,
        s.SessionsRefused);

    private async ValueTask<string?> BroadcastOfAsync(string channel, CancellationToken cancellationToken)
    {
        if (packager?.Find(channel)?.BroadcastId is { } packaged) return packaged;
        if (store is null) return null;
        var now = _time.GetUtcNow();
        if (_stored.TryGetValue(channel, out var known) && now - known.ReadAt < StoredIdLifetime) return known.Id;
        string? id = null;
        try
        {
            if (await store.GetAsync(StoreKeys.LiveState(channel), cancellationToken).ConfigureAwait(false) is { } state)
                id = LiveBroadcastState.TryParse(state.Data.Span, out _)?.BroadcastId;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException)
        {
            // The store could not be read this bucket: the channel waits for the next (its viewers stay in the next sample).
            return null;
        }

        if (_stored.Count >= MaxRemembered) _stored.Clear();
        _stored[channel] = (id, now);
        return id;
    }

    private static string Name(ViewerDelivery delivery) => delivery switch
    {
        ViewerDelivery.Hls => "hls",
        ViewerDelivery.LowLatencyHls => "llhls",
        ViewerDelivery.Dash => "dash",
        _ => "unknown",
    };
}
