using System.Net;
using System.Text;
using Broadcast.Media;
using Broadcast.Media.Codecs.H264;
using Broadcast.Refusals;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Tests.Fakes;
using Broadcast.WebRtc.Whep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// Sessions that have not connected (anonymous offers answered and never followed by ICE and DTLS) against the places
/// connecting viewers need: a flood of them from several addresses does not keep a genuine viewer out (the oldest is
/// ended to make room), one address holds only a few (429 with Retry-After), a connected viewer is never ended for a
/// newcomer, and every place and slot comes back. Through the fake Janus (<see cref="FakeJanus"/>) and a live hub.
/// </summary>
[Trait("Kind", "Component")]
public sealed class WhepPendingSessionTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly string Offer = SdpSamples.ChromiumOffer;

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 29, 20, 0, 0, TimeSpan.Zero));
    private readonly FakeJanus _janus = new();
    private readonly LiveStreamRegistry _registry = new();
    private readonly List<WhepService> _services = [];

    public WhepPendingSessionTests() => Publish("live");

    [Fact]
    public async Task A_flood_of_unconnected_offers_from_ten_addresses_does_not_keep_a_connecting_viewer_out()
    {
        // The flood, scaled to a cap of 20: every address posts offers that never connect, as fast as it is answered.
        var whep = Service(new WhepOptions { MaxViewersPerNode = 20, MaxSessionsPerAddress = 20 });
        var attackers = Enumerable.Range(1, 10).Select(i => IPAddress.Parse($"127.0.0.{i}")).ToArray();
        await FloodAsync(whep, attackers, rounds: 6);
        Assert.Equal(20, whep.ViewerCount);

        // A genuine viewer 3 s later is answered, and connects.
        _clock.Advance(TimeSpan.FromSeconds(3));
        var viewer = await whep.StartAsync("live", Offer, IPAddress.Parse("198.51.100.7"), CancellationToken.None);
        long viewerHandle = LastHandle();
        _janus.Up(viewerHandle);

        // The flood goes on; a second genuine viewer 3 s after it is answered too, and the first one is still there.
        _clock.Advance(TimeSpan.FromSeconds(3));
        await FloodAsync(whep, attackers, rounds: 6);
        _clock.Advance(TimeSpan.FromSeconds(3));
        var second = await whep.StartAsync("live", Offer, IPAddress.Parse("198.51.100.8"), CancellationToken.None);
        _janus.Up(LastHandle());
        await FloodAsync(whep, attackers, rounds: 6);
        Assert.Contains(whep.Grants(), g => g.Id == viewer.Id);
        Assert.Contains(whep.Grants(), g => g.Id == second.Id);
        Assert.DoesNotContain(viewerHandle, _janus.Current!.Detached);
        Assert.True(whep.Status.EvictedUnconnected > 0);
        Assert.InRange(whep.ViewerCount, 2, 20);

        // The unconnected ones end at their connect timeout; the viewers' places stay until they leave, then all is back to zero.
        _clock.Advance(whep.Options.ConnectTimeout);
        await WaitFor.ConditionAsync(() => whep.ViewerCount == 2, Bound, "the unconnected sessions to end");
        Assert.Equal(0, whep.PendingCount);
        Assert.True(await whep.EndAsync("live", viewer.Id));
        Assert.True(await whep.EndAsync("live", second.Id));
        Assert.Equal((0, 0, 0), (whep.ViewerCount, whep.PendingCount, whep.AddressSlotCount));
    }

    [Fact]
    public async Task One_address_holds_a_few_unconnected_sessions_and_the_next_offer_gets_429_with_retry_after()
    {
        var whep = Service(new WhepOptions { MaxViewersPerNode = 10, MaxSessionsPerAddress = 5, MaxPendingPerAddress = 2 });
        await using var app = await StartAsync(whep);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First() + "/") };

        using (var first = await PostAsync(http)) Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        long firstHandle = LastHandle();
        using (var second = await PostAsync(http)) Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        using (var third = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(20), third.Headers.RetryAfter?.Delta);
            Assert.Contains("have not connected", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A session that connects gives its pending slot back: the address may post again, up to its sessions' cap.
        _janus.Up(firstHandle);
        Assert.Equal(1, whep.PendingCount);
        using (var fourth = await PostAsync(http)) Assert.Equal(HttpStatusCode.Created, fourth.StatusCode);
        Assert.Equal((3, 2), (whep.ViewerCount, whep.PendingCount));
    }

    [Theory]
    [InlineData(JanusTransportFault.Unreachable)]
    [InlineData(JanusTransportFault.NotJson)]
    public async Task A_janus_transport_fault_is_answered_502_problem_json_and_gives_the_place_back(JanusTransportFault fault)
    {
        var whep = Service(new WhepOptions { MaxViewersPerNode = 10 });
        await using var app = await StartAsync(whep);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First() + "/") };
        using var janusHttp = new HttpClient(new FaultyJanusHttp(fault));
        await using var session = await Broadcast.WebRtc.Janus.JanusSession.CreateAsync(janusHttp, new Uri("http://127.0.0.1:8088/janus/"),
            "secret", CancellationToken.None);
        _janus.SessionOverride = session;

        using (var refused = await PostAsync(http))
        {
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            using var body = System.Text.Json.JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal(502, body.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("Bad Gateway", body.RootElement.GetProperty("title").GetString());
            Assert.StartsWith("the WebRTC engine refused the session: Janus", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(0, whep.ViewerCount);
        _janus.SessionOverride = null;
        using var healed = await PostAsync(http);
        Assert.Equal(HttpStatusCode.Created, healed.StatusCode);
    }

    [Fact]
    public async Task A_connected_viewer_is_never_ended_for_a_newcomer_and_a_connecting_one_keeps_its_place_for_two_seconds()
    {
        var whep = Service(new WhepOptions { MaxViewersPerNode = 3, MaxSessionsPerAddress = 2 });
        var connected = new List<string>();
        for (int i = 1; i <= 2; i++)
        {
            connected.Add((await whep.StartAsync("live", Offer, IPAddress.Parse($"203.0.113.{i}"), CancellationToken.None)).Id);
            _janus.Up(LastHandle());
        }
        var pending = await whep.StartAsync("live", Offer, IPAddress.Parse("203.0.113.3"), CancellationToken.None);
        long pendingHandle = LastHandle();

        // Full, and the one unconnected session was answered under two seconds ago: it is connecting, the newcomer is refused.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(RefusalKind.Unavailable, (await Refused(whep, "203.0.113.4")).Kind);
        Assert.Equal(1, whep.Status.RefusedAtCap);

        // Past that, it is ended (detached through the usual teardown) and the newcomer takes its place.
        _clock.Advance(TimeSpan.FromSeconds(2));
        var newcomer = await whep.StartAsync("live", Offer, IPAddress.Parse("203.0.113.4"), CancellationToken.None);
        _janus.Up(LastHandle());
        Assert.Contains(pendingHandle, _janus.Current!.Detached);
        Assert.DoesNotContain(whep.Grants(), g => g.Id == pending.Id);
        Assert.Equal(1, whep.Status.EvictedUnconnected);

        // Every place is a connected viewer now: however long the next one waits, none of them is ended for it.
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(RefusalKind.Unavailable, (await Refused(whep, "203.0.113.5")).Kind);
        Assert.Equal(connected.Append(newcomer.Id).Order(), whep.Grants().Select(g => g.Id).Order());
        Assert.Equal((3, 0, 1L), (whep.ViewerCount, whep.PendingCount, whep.Status.EvictedUnconnected));

        foreach (var id in connected.Append(newcomer.Id)) Assert.True(await whep.EndAsync("live", id));
        Assert.Equal((0, 0, 0), (whep.ViewerCount, whep.PendingCount, whep.AddressSlotCount));
    }

    [Fact]
    public async Task The_node_cap_on_unconnected_sessions_holds_below_the_viewer_cap_and_its_oldest_makes_room()
    {
        var whep = Service(new WhepOptions { MaxViewersPerNode = 10, MaxPendingSessions = 3 });
        for (int i = 1; i <= 3; i++) await whep.StartAsync("live", Offer, IPAddress.Parse($"203.0.113.{i}"), CancellationToken.None);
        Assert.Equal(RefusalKind.Unavailable, (await Refused(whep, "203.0.113.4")).Kind);

        _clock.Advance(TimeSpan.FromSeconds(3));
        await whep.StartAsync("live", Offer, IPAddress.Parse("203.0.113.4"), CancellationToken.None);
        Assert.Equal((3, 3, 1L), (whep.ViewerCount, whep.PendingCount, whep.Status.EvictedUnconnected));

        // A failed setup gives its pending slot back too (it made room first: the next oldest, 3 s old, was ended for it).
        _janus.Refuse("process");
        Assert.Equal(RefusalKind.EngineFailed, (await Refused(whep, "203.0.113.5")).Kind);
        Assert.Equal((2, 2), (whep.ViewerCount, whep.PendingCount));
    }

    [Fact]
    public async Task Sessions_answered_while_many_have_not_connected_get_a_shorter_connect_deadline()
    {
        // A pending cap of 20: past 2 sessions not connected, the node is under pressure.
        var whep = Service(new WhepOptions { MaxViewersPerNode = 20, MaxPendingSessions = 20 });
        for (int i = 1; i <= 4; i++) await whep.StartAsync("live", Offer, IPAddress.Parse($"203.0.113.{i}"), CancellationToken.None);

        _clock.Advance(WhepService.PressureConnectTimeout);
        await WaitFor.ConditionAsync(() => whep.ViewerCount == 2, Bound, "the sessions answered under pressure to end");
        Assert.Equal(2, whep.PendingCount);
        _clock.Advance(whep.Options.ConnectTimeout - WhepService.PressureConnectTimeout);
        await WaitFor.ConditionAsync(() => whep.ViewerCount == 0, Bound, "the first two to end at the connect timeout");
        Assert.Equal((0, 0), (whep.PendingCount, whep.AddressSlotCount));
    }

    /// <summary>Each address posts <paramref name="rounds"/> offers, in turn; refusals (429, 503) are what a flood expects.</summary>
    private static async Task FloodAsync(WhepService whep, IPAddress[] addresses, int rounds)
    {
        for (int round = 0; round < rounds; round++)
        {
            foreach (var address in addresses)
            {
                try { await whep.StartAsync("live", Offer, address, CancellationToken.None); }
                catch (Refusal e) when (e.Kind is RefusalKind.TooMany or RefusalKind.Unavailable) { }
            }
        }
    }

    private long LastHandle() => _janus.RequestsNamed("generate")[^1].Handle;

    private static async Task<Refusal> Refused(WhepService whep, string address) =>
        await Assert.ThrowsAsync<Refusal>(() => whep.StartAsync("live", Offer, IPAddress.Parse(address), CancellationToken.None));

    private static Task<HttpResponseMessage> PostAsync(HttpClient http) =>
        http.PostAsync("live/live/whep", new StringContent(Offer, Encoding.UTF8, WhepEndpoints.SdpContentType));

    private WhepService Service(WhepOptions options)
    {
        var whep = new WhepService(_janus, _registry, Options.Create(WithFfmpeg(options)), NullLogger<WhepService>.Instance, _clock);
        _services.Add(whep);
        return whep;
    }

    /// <summary>The node's ffmpeg, which the registration sets from its locator.</summary>
    private static WhepOptions WithFfmpeg(WhepOptions options)
    {
        options.FfmpegPath = "ffmpeg";
        return options;
    }

    private static async Task<WebApplication> StartAsync(WhepService whep)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(whep).AddSingleton(new IceServers(Options.Create(whep.Options), Options.Create(new TurnOptions())));
        var app = builder.Build();
        app.MapWhep();
        await app.StartAsync();
        return app;
    }

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

    public async ValueTask DisposeAsync()
    {
        foreach (var whep in _services) await whep.DisposeAsync();
    }
}
