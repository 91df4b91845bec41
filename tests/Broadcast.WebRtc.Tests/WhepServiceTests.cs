using System.Net;
using Broadcast.Media;
using Broadcast.Media.Codecs.H264;
using Broadcast.Refusals;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Sdp;
using Broadcast.WebRtc.Tests.Fakes;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// WHEP's own rules, through the fake Janus (<see cref="FakeJanus"/>) and a live hub: admission and its refusals, the node's
/// viewer cap and the per-address cap, the sessions a Janus crash ends, a viewer that never connects, the warm-up of each
/// Janus run and the ICE restart. The channel's RTP ffmpeg is the real one; the real Janus plays WHEP end to end
/// (<c>WhepPlaybackTests</c>, <c>WhepIceRestartTests</c>).
/// </summary>
public sealed class WhepServiceTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly IPAddress Viewer = IPAddress.Parse("198.51.100.7");

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 20, 0, 0, TimeSpan.Zero));
    private readonly FakeJanus _janus = new();
    private readonly LiveStreamRegistry _registry = new();
    private readonly WhepOptions _options = new() { MaxViewersPerNode = 3, MaxSessionsPerAddress = 2 };
    private readonly WhepService _whep;

    public WhepServiceTests()
    {
        _whep = new WhepService(_janus, _registry, Options.Create(_options), NullLogger<WhepService>.Instance, _clock);
        Publish("live");
    }

    [Fact]
    public async Task A_viewer_is_answered_through_nosip_and_its_end_detaches_its_handle()
    {
        var answer = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);

        Assert.Contains("a=ice-ufrag:fake", answer.Sdp, StringComparison.Ordinal);
        Assert.StartsWith("\"", answer.ETag, StringComparison.Ordinal);
        Assert.Equal(answer.ETag, _whep.ETagOf("live", answer.Id));
        var generate = Assert.Single(_janus.RequestsNamed("generate"));
        Assert.Equal(NoSipBridge.Plugin, generate.Plugin);
        Assert.Equal(SdpSamples.ChromiumOffer, (string?)generate.Jsep!["sdp"]);
        var process = Assert.Single(_janus.RequestsNamed("process"));
        // Our plain answer to NoSIP's offer: H.264 to this node's loopback RTP leg.
        Assert.Contains("H264/90000", (string?)process.Body["sdp"], StringComparison.Ordinal);
        Assert.Equal((1, 1L, true), (_whep.ViewerCount, _whep.Status.SessionsStarted, _whep.Status.JanusUp));

        Assert.True(await _whep.EndAsync("live", answer.Id));
        Assert.False(await _whep.EndAsync("live", answer.Id));
        Assert.Contains(generate.Handle, _janus.Current!.Detached);
        Assert.Equal(0, _whep.ViewerCount);
        Assert.Null(_whep.ETagOf("live", answer.Id));
    }

    [Fact]
    public async Task Offers_and_channels_it_cannot_play_are_refused_before_janus_is_asked()
    {
        string noH264 = string.Join("\r\n", SdpSamples.ChromiumOffer.Split("\r\n").Where(l => !l.Contains("H264", StringComparison.Ordinal)));
        Assert.Equal(RefusalKind.Invalid, (await Refused("live", "v=0\r\nnot sdp")).Kind);
        Assert.Equal(RefusalKind.Invalid, (await Refused("live", noH264)).Kind);
        Assert.Equal(RefusalKind.NotFound, (await Refused("off-air", SdpSamples.ChromiumOffer)).Kind);
        Assert.Equal(RefusalKind.NotFound, (await Refused("../live", SdpSamples.ChromiumOffer)).Kind);
        Assert.Empty(_janus.Requests);
        Assert.Equal(0, _janus.Runs);

        _janus.Enabled = false;
        Assert.Equal(RefusalKind.Unavailable, (await Refused("live", SdpSamples.ChromiumOffer)).Kind);
        Assert.Equal(0, _whep.ViewerCount);
    }

    [Fact]
    public async Task The_node_and_each_address_hold_their_cap_and_a_refused_viewer_costs_janus_nothing()
    {
        var first = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        int attached = _janus.RequestsNamed("generate").Count;

        // The address holds its two; another address is still let in, up to the node's three.
        Assert.Equal(RefusalKind.TooMany, (await Refused("live", SdpSamples.ChromiumOffer, Viewer)).Kind);
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, IPAddress.Parse("203.0.113.1"), CancellationToken.None);
        Assert.Equal(RefusalKind.Unavailable, (await Refused("live", SdpSamples.ChromiumOffer, IPAddress.Parse("203.0.113.2"))).Kind);
        Assert.Equal((3, 3, 1L), (_whep.ViewerCount, _whep.Status.Cap, _whep.Status.RefusedAtCap));
        Assert.Equal(attached + 1, _janus.RequestsNamed("generate").Count);

        // A place freed is a place taken: by the address that held its cap, too.
        Assert.True(await _whep.EndAsync("live", first.Id));
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        Assert.Equal(3, _whep.ViewerCount);
    }

    [Theory]
    [InlineData(JanusTransportFault.Unreachable)]
    [InlineData(JanusTransportFault.NotJson)]
    [InlineData(JanusTransportFault.Silent)]
    public async Task A_janus_transport_fault_mid_request_is_a_502_not_a_500(JanusTransportFault fault)
    {
        using var http = new HttpClient(new FaultyJanusHttp(fault)) { Timeout = TimeSpan.FromMilliseconds(500) };
        await using var session = await JanusSession.CreateAsync(http, new Uri("http://127.0.0.1:8088/janus/"), "secret", CancellationToken.None);
        _janus.SessionOverride = session;

        var refusal = await Refused("live", SdpSamples.ChromiumOffer);
        Assert.Equal(RefusalKind.EngineFailed, refusal.Kind);
        Assert.Contains("Janus", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0, _whep.ViewerCount);

        // The place and the address's slots came back: the next viewer, Janus healed, is answered.
        _janus.SessionOverride = null;
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        Assert.Equal(1, _whep.ViewerCount);
    }

    [Fact]
    public async Task A_janus_refusal_is_a_502_that_gives_back_the_place_and_the_handle()
    {
        _janus.Refuse("process");
        Assert.Equal(RefusalKind.EngineFailed, (await Refused("live", SdpSamples.ChromiumOffer)).Kind);
        Assert.Equal(0, _whep.ViewerCount);
        Assert.Contains(_janus.RequestsNamed("process").Single().Handle, _janus.Current!.Detached);

        _janus.Accept("process");
        _janus.Down = true;
        Assert.Equal(RefusalKind.Unavailable, (await Refused("live", SdpSamples.ChromiumOffer)).Kind);
        Assert.Equal(0, _whep.ViewerCount);

        // The places and the address's slots all came back.
        _janus.Down = false;
        for (int i = 0; i < _options.MaxSessionsPerAddress; i++) await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
    }

    [Fact]
    public async Task A_janus_crash_ends_its_sessions_and_the_next_viewer_gets_a_new_run()
    {
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        await _whep.StartAsync("live", SdpSamples.ChromiumOffer, IPAddress.Loopback, CancellationToken.None);
        var crashed = _janus.Current!;

        _janus.Crash();
        await WaitFor.ConditionAsync(() => _whep.ViewerCount == 0, Bound, "the crash to end the sessions");
        Assert.Empty(_whep.Grants());
        // Their handles went with Janus: nothing to detach.
        Assert.Empty(crashed.Detached);

        var next = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        Assert.Equal(2, _janus.Runs);
        Assert.Equal(_janus.Current!.Id, _janus.RequestsNamed("generate")[^1].Session);
        Assert.Equal("live", Assert.Single(_whep.Grants()).Channel);
        Assert.Equal(next.Id, _whep.Grants()[0].Id);
    }

    [Fact]
    public async Task A_viewer_that_never_connects_is_ended_and_one_whose_connection_ends_goes_too()
    {
        var connected = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        var silent = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, IPAddress.Loopback, CancellationToken.None);
        var handles = _janus.RequestsNamed("generate").Select(r => r.Handle).ToList();
        _janus.Up(handles[0]);

        _clock.Advance(_options.ConnectTimeout);
        await WaitFor.ConditionAsync(() => _whep.ViewerCount == 1, Bound, "the unconnected viewer to be ended");
        Assert.Equal(connected.Id, Assert.Single(_whep.Grants()).Id);
        Assert.Contains(handles[1], _janus.Current!.Detached);
        Assert.Null(_whep.ETagOf("live", silent.Id));

        _janus.HangUp(handles[0]);
        await WaitFor.ConditionAsync(() => _whep.ViewerCount == 0, Bound, "the hung-up viewer to be ended");
    }

    [Fact]
    public async Task A_bucket_attendance_holds_the_viewers_with_media_and_those_that_left_since_the_last_read()
    {
        var stays = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        var leaves = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, IPAddress.Loopback, CancellationToken.None);
        var handles = _janus.RequestsNamed("generate").Select(r => r.Handle).ToList();
        // No media yet: no viewer.
        Assert.Empty(_whep.Attendance());

        _janus.Up(handles[0]);
        _janus.Up(handles[1]);
        await WaitFor.ConditionAsync(() => _whep.Attendance().Count == 2, Bound, "both viewers connected");
        // One watches a few seconds between two reads and goes: the next read still holds it, once; the one after does not.
        Assert.True(await _whep.EndAsync("live", leaves.Id));
        var pending = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, IPAddress.Loopback, CancellationToken.None);
        Assert.True(await _whep.EndAsync("live", pending.Id));
        Assert.Equal(new[] { leaves.Id, stays.Id }.Order(StringComparer.Ordinal), _whep.Attendance().Select(g => g.Id).Order(StringComparer.Ordinal));
        Assert.Equal(stays.Id, Assert.Single(_whep.Attendance()).Id);
    }

    [Fact]
    public void Ended_sessions_wait_for_one_read_each_once_and_no_more_than_the_cap()
    {
        var attendance = new WhepAttendance();
        var open = new WhepSessionGrant("live", "open", null);
        attendance.Ended(new WhepSessionGrant("live", "gone", null));
        // A session read as connected that ended meanwhile is in both lists: one viewer.
        attendance.Ended(open);
        Assert.Equal(["open", "gone"], attendance.Read([open]).Select(g => g.Id));
        Assert.Equal(["open"], attendance.Read([open]).Select(g => g.Id));

        for (int i = 0; i < WhepAttendance.MaxEndedPerRead + 10; i++) attendance.Ended(new WhepSessionGrant("live", $"s{i}", null));
        var read = attendance.Read([]);
        Assert.Equal(WhepAttendance.MaxEndedPerRead, read.Count);
        Assert.Equal("s10", read[0].Id);
        Assert.Empty(attendance.Read([]));
    }

    [Fact]
    public async Task Holding_a_channel_warm_starts_janus_and_warms_each_janus_run_once()
    {
        _whep.HoldWarm("live");
        Assert.True(_whep.IsWarm("live"));
        Assert.Equal(1, _janus.StartsWithoutWaiting);
        await WaitFor.ConditionAsync(() => _janus.RequestsNamed("generate").Count == 1, Bound, "the warm-up's offer");
        var warmUp = _janus.RequestsNamed("generate")[0];
        await WaitFor.ConditionAsync(() => _janus.Current!.Detached.Contains(warmUp.Handle), Bound, "the warm-up's handle to be detached");
        // A made-up offer, not a viewer: no place taken, nothing answered.
        Assert.Equal(0, _whep.ViewerCount);
        Assert.Empty(_janus.RequestsNamed("process"));

        // Another warm channel on the same run: no second warm-up. Holding the same channel twice holds it once.
        Publish("other");
        _whep.HoldWarm("other");
        _whep.HoldWarm("other");
        Assert.Equal(2, _whep.Status.WarmChannels);
        Assert.Equal(2, _janus.StartsWithoutWaiting);

        // A new Janus run is warmed again, by the next channel held warm.
        _janus.Crash();
        Publish("third");
        _whep.HoldWarm("third");
        await WaitFor.ConditionAsync(() => _janus.RequestsNamed("generate").Count == 2, Bound, "the new run's warm-up");
        Assert.Equal(_janus.Current!.Id, _janus.RequestsNamed("generate")[1].Session);

        _whep.ReleaseWarm("live");
        Assert.False(_whep.IsWarm("live"));
        Assert.Equal(2, _whep.Status.WarmChannels);
    }

    [Fact]
    public async Task An_ice_restart_renegotiates_the_same_handle_at_most_once_a_second()
    {
        var session = await _whep.StartAsync("live", SdpSamples.ChromiumOffer, Viewer, CancellationToken.None);
        long handle = _janus.RequestsNamed("generate").Single().Handle;
        Assert.True(TrickleIceFragment.TryParse("a=ice-ufrag:Rs7t\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", out var fragment, out string error), error);

        var restart = await _whep.RestartIceAsync("live", session.Id, fragment, CancellationToken.None);
        Assert.Contains("a=ice-ufrag:fake", restart.Fragment, StringComparison.Ordinal);
        Assert.NotEqual(session.ETag, restart.ETag);
        Assert.Equal(restart.ETag, _whep.ETagOf("live", session.Id));
        var generates = _janus.RequestsNamed("generate");
        Assert.Equal([handle, handle], generates.Select(g => g.Handle));
        Assert.Contains("a=ice-ufrag:Rs7t", (string?)generates[1].Jsep!["sdp"], StringComparison.Ordinal);

        Assert.Equal(RefusalKind.TooMany, (await Assert.ThrowsAsync<Refusal>(() =>
            _whep.RestartIceAsync("live", session.Id, fragment, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.NotFound, (await Assert.ThrowsAsync<Refusal>(() =>
            _whep.RestartIceAsync("other", session.Id, fragment, CancellationToken.None))).Kind);
        _clock.Advance(TimeSpan.FromSeconds(1));
        _janus.Refuse("generate");
        Assert.Equal(RefusalKind.EngineFailed, (await Assert.ThrowsAsync<Refusal>(() =>
            _whep.RestartIceAsync("live", session.Id, fragment, CancellationToken.None))).Kind);
        // A refused restart leaves the session as it was.
        Assert.Equal(restart.ETag, _whep.ETagOf("live", session.Id));
        Assert.Equal(1, _whep.ViewerCount);
    }

    private async Task<Refusal> Refused(string channel, string offer, IPAddress? client = null) =>
        await Assert.ThrowsAsync<Refusal>(() => _whep.StartAsync(channel, offer, client ?? Viewer, CancellationToken.None));

    /// <summary>A live channel whose first frames (baseline H.264, no B-frames) let WHEP pass its video through.</summary>
    private void Publish(string channel)
    {
        Assert.True(_registry.TryStartPublish(channel, out var stream));
        var avc = new AvcDecoderConfigurationRecord
        {
            ProfileIndication = 66,
            LevelIndication = 31,
            SequenceParameterSets = [[0x67, 66, 0, 31]],
            PictureParameterSets = [[0x68, 0xCE, 0x3C, 0x80]],
        };
        var track = new VideoTrack(Codec.H264, avc.ToArray(), avc.CodecString, 640, 360);
        for (int i = 0; i < 8; i++) stream.Write(MediaFrame.Rent(track, i * 3000L, 0, i == 0, new byte[] { 0, 0, 0, 1, i == 0 ? (byte)0x65 : (byte)0x41 }));
    }

    public async ValueTask DisposeAsync() => await _whep.DisposeAsync();
}
