using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Whep;

namespace Broadcast.Observability.Tests;

/// <summary>
/// The audience sampler's view of a node: the origin's viewers of a channel named by the broadcast the packager runs for
/// it, WHEP sessions added as viewers of their own (also on a channel watched over WHEP alone), and channels this node
/// does not package left out; each viewer's rung carried, under the bound control keeps too.
/// </summary>
public sealed class AudienceSourceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 6, 0, 0, TimeSpan.Zero);

    private sealed class PackagingForTests(params string[] channels) : IPackagerStatus
    {
        public IReadOnlyList<StreamPackagerStatus> Streams => [.. channels.Select(Status)];

        public StreamPackagerStatus? Find(string channel) => channels.Contains(channel) ? Status(channel) : null;

        private static StreamPackagerStatus Status(string channel) =>
            new(channel, "b-" + channel, Recording: false, Ended: false, SegmentsWritten: 1, TimeSpan.FromSeconds(2), 2, []);
    }

    [Fact]
    public async Task Origin_and_whep_viewers_of_each_packaged_broadcast_make_its_sample()
    {
        var clock = new ManualClock(Start);
        var sessions = new ViewerSessions(clock);
        sessions.Touch("news", 1, ViewerDelivery.Hls, ViewerCmcd.Sent);
        sessions.Touch("news", 1, ViewerDelivery.Unknown, ViewerCmcd.Sent | ViewerCmcd.Stalled);
        sessions.Touch("news", 2, ViewerDelivery.Dash, rendition: "720p");
        sessions.Failed("news", RequestFailure.NotFound);
        sessions.Failed("news", RequestFailure.Unavailable);
        sessions.Touch("elsewhere", 3, ViewerDelivery.Hls);
        WhepSessionGrant[] grants = [new("news", "w1", null), new("quiz", "w2", null), new("quiz", "w3", null), new("elsewhere", "w4", null)];
        var source = new PipelineAudienceSource(sessions, new PackagingForTests("news", "quiz"), () => grants);

        var samples = (await source.SampleAsync(Start.ToUnixTimeSeconds(), CancellationToken.None)).OrderBy(s => s.ChannelSlug, StringComparer.Ordinal).ToList();
        Assert.Equal(["news", "quiz"], samples.Select(s => s.ChannelSlug));
        var news = samples[0];
        Assert.Equal(("b-news", 3, 1, 1, 1), (news.BroadcastId, news.Viewers, news.Hls, news.Dash, news.Whep));
        Assert.Equal((1L, 1L), (news.NotFound, news.Unavailable));
        Assert.Equal(["dash", "hls", "whep"], news.Sessions.Select(s => s.Delivery).Order(StringComparer.Ordinal));
        // The origin viewers' CMCD flags of the bucket; a WHEP viewer sends no CMCD.
        Assert.Equal([("dash", false, false), ("hls", true, true), ("whep", false, false)],
            news.Sessions.Select(s => (s.Delivery, s.Cmcd, s.Stalled)).OrderBy(s => s.Delivery, StringComparer.Ordinal));
        // The origin viewer's rung; none known for the viewer that named no rendition, nor for a WHEP viewer.
        Assert.Equal([("dash", "720p"), ("hls", null), ("whep", null)],
            news.Sessions.Select(s => (s.Delivery, s.Rung)).OrderBy(s => s.Delivery, StringComparer.Ordinal));
        var quiz = samples[1];
        Assert.Equal((2, 2, 0), (quiz.Viewers, quiz.Whep, quiz.Hls));
        Assert.NotEqual(quiz.Sessions[0].Key, quiz.Sessions[1].Key);
    }

    [Fact]
    public void The_origins_rung_bound_is_the_one_control_keeps_and_checks_in_the_node_post() =>
        Assert.Equal((ViewerRungs.MaxRungs, ViewerRungs.MaxNameLength, ViewerRungs.Other),
            (Broadcast.Control.Analytics.AudienceRungs.MaxRungs, Broadcast.Control.Analytics.AudienceRungs.MaxNameLength,
                Broadcast.Control.Analytics.AudienceRungs.Other));
}
