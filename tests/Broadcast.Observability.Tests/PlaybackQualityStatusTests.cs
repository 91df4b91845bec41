using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Media;
using Broadcast.Observability.Metrics;
using Broadcast.Origin;
using Broadcast.Origin.Cmcd;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Observability.Tests;

/// <summary>
/// The players' own quality reports (CMCD) reach the channel's live status (API and channel page) and /metrics, a private
/// channel's under the private label only.
/// </summary>
public class PlaybackQualityStatusTests
{
    private static readonly Channel News = new("c1", "News", "news", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

    private static CmcdAudience AudienceWithTwoPlayers(out ManualClock clock)
    {
        clock = new ManualClock(new DateTimeOffset(2026, 11, 29, 21, 0, 0, TimeSpan.Zero));
        var audience = new CmcdAudience(Options.Create(new OriginOptions()), clock);
        foreach (var (text, client, media) in new[]
        {
            ("ot=m,sid=\"a\",sf=h,st=l", 1UL, false), ("bl=0,br=800,ot=v,sid=\"a\",su", 1UL, true),
            ("bl=0,bs,br=2400,ot=v,sid=\"a\"", 1UL, true), ("bl=6000,br=2400,mtp=9000,ot=v,sid=\"b\"", 2UL, true),
        })
        {
            var data = new CmcdData();
            CmcdReader.Read(text, ref data);
            audience.Record("news", data, client, media);
        }

        return audience;
    }

    [Fact]
    public async Task The_live_status_carries_the_players_reports_and_the_channel_page_words_them()
    {
        var audience = AudienceWithTwoPlayers(out _);

        var state = await new PipelineChannelLiveStatus(new LiveStreamRegistry(), quality: audience).GetAsync(News, default);

        Assert.Equal(new PlaybackQuality(2, 1, 1, 0, 6000, 2400, 9000, 1), state.Quality);
        Assert.Equal("2 players reporting · 1 stalled (1 stall) · startup 0.0 s · buffer 6.0 s · 2.4 Mb/s · 1 rung switch",
            LiveStatusMonitor.DescribeQuality(state.Quality));
        // A channel no player reports on has none, and the page shows no row.
        var other = await new PipelineChannelLiveStatus(new LiveStreamRegistry(), quality: audience)
            .GetAsync(News with { Slug = "other" }, default);
        Assert.Null(other.Quality);
        Assert.Null(LiveStatusMonitor.DescribeQuality(other.Quality));
    }

    [Fact]
    public void Metrics_show_the_reports_per_stream_and_hide_a_private_ones_name()
    {
        var audience = AudienceWithTwoPlayers(out _);

        string text = MetricsEndpoint.Render(null, null, null, null, cmcd: audience);
        Assert.Contains("# TYPE broadcast_cmcd_sessions gauge\nbroadcast_cmcd_sessions{stream=\"news\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_cmcd_stalled_sessions{stream=\"news\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_cmcd_buffer_seconds{stream=\"news\"} 6\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_cmcd_bitrate_bits_per_second{stream=\"news\"} 2400000\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_cmcd_malformed_values_total 0\n", text, StringComparison.Ordinal);

        string hidden = MetricsEndpoint.Render(null, null, null, null, isPrivate: s => s is "news", cmcd: audience);
        Assert.DoesNotContain("\"news\"", hidden, StringComparison.Ordinal);
        Assert.Contains("broadcast_cmcd_sessions{stream=\"_private\"} 2\n", hidden, StringComparison.Ordinal);
    }
}
