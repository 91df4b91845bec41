using System.Net;
using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;

namespace Broadcast.Publish.Tests;

/// <summary>
/// The gate's decisions for each kind of source, over fakes of control's rules and the packager's continuations: who gets
/// a ticket, who is refused and why, and when a broadcast a dead node left is continued.
/// </summary>
public sealed class PublishGateTests
{
    private readonly FakePublishRules _rules = new();
    private readonly FakeContinuations _continuations = new();
    private readonly PublishGate _gate;

    public PublishGateTests() => _gate = new PublishGate(_rules, _continuations);

    private static PublishRequest Rtmp(string key = "key-1") => new("live", key, new IPEndPoint(IPAddress.Loopback, 50000), Encoder: "obs");

    [Fact]
    public async Task An_encoder_the_rules_allow_gets_a_ticket_for_its_channel()
    {
        var decision = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.True(decision.Allowed);
        Assert.Equal("news", decision.Ticket?.Name);
        Assert.Equal("news", decision.StreamName);
        Assert.Equal("channel-1", decision.ChannelId);
    }

    [Fact]
    public async Task An_allowed_encoder_continues_the_broadcast_a_dead_node_left()
    {
        await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.Equal(["news"], _continuations.Prepared);
    }

    [Fact]
    public async Task The_encoders_key_protocol_address_and_name_reach_the_rules()
    {
        await _gate.AdmitRtmpAsync(Rtmp("secret"), CancellationToken.None);

        Assert.Equal(["encoder:live/secret/rtmp/127.0.0.1/obs"], _rules.Asked);
    }

    [Fact]
    public async Task An_srt_encoder_is_asked_about_as_srt()
    {
        await _gate.AdmitSrtAsync(new PublishRequest("live", "key-1", null, "srt"), CancellationToken.None);

        Assert.Equal(["encoder:live/key-1/srt//"], _rules.Asked);
    }

    [Fact]
    public async Task A_refused_key_is_told_apart_and_gets_no_ticket_nor_continuation()
    {
        _rules.Encoder = PublishVerdict.Deny("unknown stream key", keyRejected: true);

        var decision = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.False(decision.Allowed);
        Assert.True(decision.KeyRejected);
        Assert.Null(decision.Ticket);
        Assert.Equal("unknown stream key", decision.Reason);
        Assert.Empty(_continuations.Prepared);
    }

    [Fact]
    public async Task A_refusal_outside_the_schedule_keeps_its_reason_and_is_no_wrong_key()
    {
        _rules.Encoder = PublishVerdict.Deny("no event of this channel is on now");

        var decision = await _gate.AdmitSrtAsync(new PublishRequest("live", "key-1", null, "srt"), CancellationToken.None);

        Assert.False(decision.Allowed);
        Assert.False(decision.KeyRejected);
        Assert.Null(decision.Ticket);
        Assert.Equal("no event of this channel is on now", decision.Reason);
    }

    [Fact]
    public async Task An_encoder_of_a_channel_live_on_another_node_is_refused_without_continuation()
    {
        _rules.Encoder = PublishVerdict.Deny("the channel is live on another ingest node");

        var decision = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.Null(decision.Ticket);
        Assert.Equal("the channel is live on another ingest node", decision.Reason);
        Assert.Empty(_continuations.Prepared);
    }

    [Fact]
    public async Task A_refusal_without_a_reason_says_publishing_is_not_allowed_now()
    {
        _rules.Encoder = new PublishVerdict(false, null, null, null);

        var decision = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.Equal("publishing is not allowed now", decision.Reason);
    }

    [Fact]
    public async Task A_continuation_that_fails_admits_nobody()
    {
        _continuations.Fault = new IOException("the store is down");

        await Assert.ThrowsAsync<IOException>(() => _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None));
    }

    [Fact]
    public async Task A_second_publisher_of_a_channel_still_live_here_is_refused_by_its_hub()
    {
        var registry = new LiveStreamRegistry();
        var first = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);
        var second = await _gate.AdmitRtmpAsync(Rtmp(), CancellationToken.None);

        Assert.True(registry.TryStartPublish(first.Ticket!, out var live));
        Assert.False(registry.TryStartPublish(second.Ticket!, TimeSpan.Zero, out var existing, out _));
        Assert.Same(live, existing);
    }

    [Fact]
    public async Task A_pull_continues_its_channels_broadcast_and_gets_a_ticket_without_asking_the_rules()
    {
        var ticket = await _gate.AdmitPullAsync("pulled", CancellationToken.None);

        Assert.Equal("pulled", ticket.Name);
        Assert.Equal(["pulled"], _continuations.Prepared);
        Assert.Empty(_rules.Asked);
    }

    [Fact]
    public async Task An_api_program_continues_its_channels_broadcast_and_gets_a_ticket_without_asking_the_rules()
    {
        var ticket = await _gate.AdmitProgramAsync("show", CancellationToken.None);

        Assert.Equal("show", ticket.Name);
        Assert.Equal(["show"], _continuations.Prepared);
        Assert.Empty(_rules.Asked);
    }

    [Fact]
    public async Task A_rooms_show_takes_the_lease_then_continues_and_gets_a_ticket()
    {
        var admission = await _gate.AdmitRoomAsync("studio", CancellationToken.None);

        Assert.Equal("studio", admission.Ticket?.Name);
        Assert.Null(admission.Refusal);
        Assert.Equal(["room-show:studio"], _rules.Asked);
        Assert.Equal(["studio"], _continuations.Prepared);
    }

    [Fact]
    public async Task A_rooms_show_whose_lease_another_node_holds_is_refused_with_the_reason()
    {
        _rules.RoomShow = PublishVerdict.Deny("the channel is live on another ingest node");

        var admission = await _gate.AdmitRoomAsync("studio", CancellationToken.None);

        Assert.Null(admission.Ticket);
        Assert.Equal("the channel is live on another ingest node", admission.Refusal);
        Assert.Empty(_continuations.Prepared);
    }

    [Fact]
    public async Task A_whip_publisher_the_rules_allow_joins_its_channels_room_without_a_lease_or_continuation()
    {
        var decision = await _gate.AdmitWhipAsync("room-key", new PublishCaller(IPAddress.Loopback, "Chrome"), CancellationToken.None);

        Assert.True(decision.Allowed);
        Assert.Equal("news", decision.Channel);
        Assert.Equal(["whip:room-key"], _rules.Asked);
        Assert.Empty(_continuations.Prepared);
    }

    [Fact]
    public async Task A_whip_publisher_with_a_refused_key_is_told_apart()
    {
        _rules.Whip = PublishVerdict.Deny("unknown stream key", keyRejected: true);

        var decision = await _gate.AdmitWhipAsync("guess", new PublishCaller(null, null), CancellationToken.None);

        Assert.False(decision.Allowed);
        Assert.True(decision.KeyRejected);
        Assert.Equal("unknown stream key", decision.Reason);
    }

    [Fact]
    public void A_relayed_channel_and_a_programs_feed_get_tickets_of_their_own_names()
    {
        Assert.Equal("news", PublishGate.AdmitRelay("news").Name);
        Assert.Equal("feed-1", PublishGate.AdmitProgramFeed("feed-1").Name);
    }
}
