using Broadcast.Control.Analytics;
using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.WebRtc.Whep;

namespace Broadcast.Observability;

/// <summary>
/// The audience sampler's view of this node (<see cref="IAudienceSource"/>): the origin's viewer sessions of each channel
/// whose broadcast the packager runs here, named by that broadcast's id, and its WHEP sessions (read once a bucket from
/// <paramref name="whep"/>, the sessions open at that moment, each its own viewer). A channel not packaged on this node is
/// left out (its broadcast id is not known here).
/// </summary>
internal sealed class PipelineAudienceSource(ViewerSessions sessions, IPackagerStatus packager, Func<IReadOnlyList<WhepSessionGrant>>? whep = null)
    : IAudienceSource
{
    public IReadOnlyList<LiveAudienceSample> Sample(long bucketStart)
    {
        var realTime = new Dictionary<string, List<LiveViewer>>(StringComparer.Ordinal);
        foreach (var grant in whep?.Invoke() ?? [])
        {
            if (!realTime.TryGetValue(grant.Channel, out var list)) realTime[grant.Channel] = list = [];
            list.Add(new LiveViewer(ViewerSessions.IdentityOf(grant.Id), bucketStart, bucketStart, "whep"));
        }

        var samples = new List<LiveAudienceSample>();
        foreach (var channel in sessions.Sample(bucketStart))
        {
            if (packager.Find(channel.Channel)?.BroadcastId is not { } broadcastId) continue;
            var viewers = channel.Sessions.Select(s => new LiveViewer(s.Viewer, s.FirstBucket, s.LastBucket, Name(s.Delivery))).ToList();
            int whepViewers = 0;
            if (realTime.Remove(channel.Channel, out var joining))
            {
                viewers.AddRange(joining);
                whepViewers = joining.Count;
            }

            samples.Add(new LiveAudienceSample(channel.Channel, broadcastId, channel.Viewers + whepViewers, channel.Hls, channel.LowLatencyHls,
                channel.Dash, viewers, channel.Uncounted, whepViewers));
        }

        // Channels watched over WHEP alone in this bucket.
        foreach (var (channel, viewers) in realTime)
        {
            if (packager.Find(channel)?.BroadcastId is not { } broadcastId) continue;
            samples.Add(new LiveAudienceSample(channel, broadcastId, viewers.Count, 0, 0, 0, viewers, 0, viewers.Count));
        }

        return samples;
    }

    private static string Name(ViewerDelivery delivery) => delivery switch
    {
        ViewerDelivery.Hls => "hls",
        ViewerDelivery.LowLatencyHls => "llhls",
        ViewerDelivery.Dash => "dash",
        _ => "unknown",
    };
}
