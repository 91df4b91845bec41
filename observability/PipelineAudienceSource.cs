using Broadcast.Control.Analytics;
using Broadcast.Origin;
using Broadcast.Packager.Live;

namespace Broadcast.Observability;

/// <summary>
/// The audience sampler's view of this node (<see cref="IAudienceSource"/>): the origin's viewer sessions of each channel
/// whose broadcast the packager runs here, named by that broadcast's id. A channel not packaged on this node is left out
/// (its broadcast id is not known here).
/// </summary>
internal sealed class PipelineAudienceSource(ViewerSessions sessions, IPackagerStatus packager) : IAudienceSource
{
    public IReadOnlyList<LiveAudienceSample> Sample(long bucketStart)
    {
        var samples = new List<LiveAudienceSample>();
        foreach (var channel in sessions.Sample(bucketStart))
        {
            if (packager.Find(channel.Channel)?.BroadcastId is not { } broadcastId) continue;
            var viewers = channel.Sessions.Select(s => new LiveViewer(s.Viewer, s.FirstBucket, s.LastBucket, Name(s.Delivery))).ToArray();
            samples.Add(new LiveAudienceSample(channel.Channel, broadcastId, channel.Viewers, channel.Hls, channel.LowLatencyHls, channel.Dash,
                viewers, channel.Uncounted));
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
