using System.Diagnostics;
using System.Net;
using System.IO.Pipelines;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Refusals;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Relay;
using Broadcast.WebRtc.Sdp;
using Broadcast.WebRtc.Whep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// The relay between nodes, both halves for real over loopback HTTP: an ingest node's feed endpoint
/// (<see cref="RealTimeFeedEndpoints"/>) serving a hub that ffmpeg publishes into, and an origin node's
/// <see cref="ChannelRelay"/> writing what it reads into its own hub. Also what a round says when the channel is off
/// air, the token is wrong, nobody listens, or the answer is not FLV.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ChannelRelayTests
{
    private const string Token = "relay-test-node-token-0123456789abcdef";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_origin_hub_gets_the_ingest_hubs_frames_from_a_keyframe_on_and_ends_with_the_publish()
    {
        await using var ingest = await IngestNode.StartAsync(Token);
        var relays = Relays([ingest.BaseUrl], Token);
        await using var relay = relays.Create("show");

        // Off air: the round over the (one) ingest node finds nothing.
        relay.Start();
        Assert.Equal(RelayRound.NotLive, await relay.WaitLiveAsync(Bound, CancellationToken.None));

        // ffmpeg publishes three seconds in real time into the ingest node's hub; a reader there sees every frame.
        Assert.True(ingest.Registry.TryStartPublish("show", out var source));
        using var sourceReader = source.OpenReader("test", capacity: 4096);
        var publish = PublishAsync(source);
        Assert.Equal(RelayRound.Live, await relay.WaitLiveAsync(Bound, CancellationToken.None));
        var local = relays.Registry.Find("show");
        Assert.NotNull(local);
        Assert.Equal(ingest.BaseUrl, relay.FeedingFrom);
        using var localReader = local!.OpenReader("test", capacity: 4096);
        await publish;
        ingest.Registry.EndPublish(source);

        var sent = await DrainAsync(sourceReader);
        var received = await DrainAsync(localReader);
        // What the origin node got: a keyframe first, then the ingest node's frames one for one (time, kind, bytes).
        Assert.True(received.Count(f => f.Kind == MediaKind.Video) > 20, $"only {received.Count} frames relayed");
        var firstVideo = received.First(f => f.Kind == MediaKind.Video);
        Assert.True(firstVideo.Keyframe, "the relayed video must start at a keyframe");
        var byTime = sent.ToLookup(f => (f.Kind, f.Dts));
        foreach (var frame in received)
            Assert.Contains(byTime[(frame.Kind, frame.Dts)], s => s.Pts == frame.Pts && s.Keyframe == frame.Keyframe && s.Payload.SequenceEqual(frame.Payload));
        var localVideo = (VideoTrack)local.Video!;
        Assert.Equal((640, 360), (localVideo.Width, localVideo.Height));
        Assert.NotNull(local.Audio);

        // The publish ended on the ingest node: the feed ends, and so does the origin's publish; the next round finds nothing.
        await WaitFor.ConditionAsync(() => local.IsCompleted, Bound, "the origin's hub to end with the ingest node's publish");
        Assert.Equal(RelayRound.NotLive, await relay.WaitLiveAsync(Bound, CancellationToken.None));
        Assert.Null(relay.FeedingFrom);
        await WaitFor.ConditionAsync(() => ingest.Whep.Status.RelayFeeds == 0, Bound, "the ingest node to count its feed closed");
    }

    [Fact]
    public async Task A_wrong_token_a_closed_port_and_an_answer_that_is_not_flv_make_the_ingest_node_unreachable()
    {
        await using var ingest = await IngestNode.StartAsync(Token);
        Assert.True(ingest.Registry.TryStartPublish("show", out var source));

        // The ingest node refuses another token (401): the channel may be live there, this node cannot know.
        var wrong = Relays([ingest.BaseUrl], Token + "x");
        await using (var relay = wrong.Create("show"))
        {
            relay.Start();
            Assert.Equal(RelayRound.Unreachable, await relay.WaitLiveAsync(Bound, CancellationToken.None));
        }

        // Nobody listens on the port.
        var closed = Relays([new Uri($"http://127.0.0.1:{FreePort.Tcp()}/")], Token);
        await using (var relay = closed.Create("show"))
        {
            relay.Start();
            Assert.Equal(RelayRound.Unreachable, await relay.WaitLiveAsync(Bound, CancellationToken.None));
        }

        // A server that answers 200 with bytes that are no FLV: not taken for a feed, no publish starts here.
        await using var garbage = await GarbageNode.StartAsync();
        var broken = Relays([garbage.BaseUrl], Token);
        await using (var relay = broken.Create("show"))
        {
            relay.Start();
            Assert.Equal(RelayRound.Unreachable, await relay.WaitLiveAsync(Bound, CancellationToken.None));
            Assert.Null(broken.Registry.Find("show"));
        }

        ingest.Registry.EndPublish(source);
    }

    [Fact]
    public void Relay_sources_are_http_base_urls_and_a_node_without_one_or_without_the_token_does_not_start()
    {
        var parsed = ChannelRelays.ParseSources(["http://ingest-a:8080", " https://ingest-b.example.net/base/ ", ""]);
        Assert.Equal(["http://ingest-a:8080/", "https://ingest-b.example.net/base/"], parsed.Select(u => u.ToString()));
        foreach (string bad in new[] { "ingest-a:8080", "ftp://ingest", "http://user:secret@ingest:8080", "http://ingest:8080/?x=1", "/relative" })
            Assert.Throws<InvalidOperationException>(() => ChannelRelays.ParseSources([bad]));

        Assert.Contains("Whep:RelayFrom", Assert.Throws<InvalidOperationException>(() => Relays([], Token)).Message, StringComparison.Ordinal);
        Assert.Contains("Playback:NodeToken", Assert.Throws<InvalidOperationException>(() => Relays([new Uri("http://ingest:8080/")], null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_credential_accepts_its_own_bearer_token_alone()
    {
        var credential = new RelayCredential(" " + Token + " ");
        Assert.True(credential.Accepts("Bearer " + Token));
        Assert.True(credential.Accepts("bearer " + Token));
        Assert.False(credential.Accepts("Bearer " + Token[..^1]));
        Assert.False(credential.Accepts(Token));
        Assert.False(credential.Accepts("Basic " + Token));
        Assert.False(credential.Accepts(""));
        Assert.Contains("at least 32", Assert.Throws<InvalidOperationException>(() => new RelayCredential("short-token")).Message, StringComparison.Ordinal);
        var none = new RelayCredential("  ");
        Assert.False(none.IsSet);
        Assert.False(none.Accepts("Bearer "));
    }

    private static ChannelRelays Relays(IReadOnlyList<Uri> sources, string? token) =>
        new(Options.Create(new WhepOptions { RelayFrom = [.. sources.Select(u => u.ToString())] }), new RelayCredential(token), new TicketsForRelays(),
            NullLogger<ChannelRelay>.Instance);

    /// <summary>A gate that admits every relayed channel (the gate's decisions are <c>Broadcast.Publish.Tests</c>').</summary>
    private sealed class TicketsForRelays : IRelayAdmission
    {
        public PublishTicket Admit(string channel) => PublishTickets.For(channel);
    }

    private sealed record SeenFrame(MediaKind Kind, long Dts, long Pts, bool Keyframe, byte[] Payload);

    /// <summary>Every frame a reader holds once its stream has ended.</summary>
    private static async Task<List<SeenFrame>> DrainAsync(LiveStreamReader reader)
    {
        var frames = new List<SeenFrame>();
        using var timeout = new CancellationTokenSource(Bound);
        while (await reader.ReadAsync(timeout.Token) is { } frame)
        {
            frames.Add(new SeenFrame(frame.Kind, frame.Dts, frame.Pts, frame.IsKeyframe, frame.Data.ToArray()));
            frame.Release();
        }

        return frames;
    }

    /// <summary>ffmpeg's x264 + AAC, three seconds in real time, as FLV parsed into <paramref name="stream"/> (as an RTMP publisher's would be).</summary>
    private static async Task PublishAsync(LiveStream stream)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=3",
            "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
            "-c:a", "aac", "-b:a", "64k", "-f", "flv", "pipe:1"]) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var pipe = PipeReader.Create(process.StandardOutput.BaseStream);
        var demuxer = new FlvDemuxer(stream);
        var flv = new FlvStreamReader();
        while (true)
        {
            var result = await pipe.ReadAsync();
            var consumed = flv.Read(result.Buffer, tag => demuxer.TryWrite(tag, out _), out string? error);
            Assert.Null(error);
            pipe.AdvanceTo(consumed, result.Buffer.End);
            if (result.IsCompleted) break;
        }

        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task An_origin_only_node_gives_anonymous_offers_for_off_air_or_made_up_channels_nothing_of_its_own()
    {
        await using var ingest = await IngestNode.StartAsync(Token);
        var relays = Relays([ingest.BaseUrl], Token);
        using var directory = new TempDirectory("janus-config");
        // Janus would start on the first admitted viewer; none is admitted here.
        await using var janus = new JanusSupervisor(Options.Create(new JanusOptions { ConfigDirectory = directory.Path }), NullLogger<JanusSupervisor>.Instance);
        await using var whep = new WhepService(janus, relays, Options.Create(new WhepOptions { FfmpegPath = "ffmpeg" }), NullLogger<WhepService>.Instance);

        // 200 anonymous offers for channels nobody publishes: each a 404 after one small probe, and no channel source.
        for (int i = 0; i < 200; i++)
        {
            var refused = await Assert.ThrowsAsync<Refusal>(() => whep.StartAsync($"nochannel{i}", NoSipWarmUp.Offer(), IPAddress.Loopback, CancellationToken.None));
            Assert.Equal(RefusalKind.NotFound, refused.Kind);
        }
        Assert.Equal(0, whep.HeldChannels);
        Assert.Equal(0, whep.Status.Viewers);
        Assert.InRange(relays.ProbedChannels, 1, ChannelRelays.MaxProbedChannels);

        // Names no channel can have are refused before any probe.
        int probed = relays.ProbedChannels;
        foreach (string name in new[] { "UPPER", "dot.dot", "under_score", new string('a', 65), "sp ace" })
            Assert.Equal(RefusalKind.NotFound, (await Assert.ThrowsAsync<Refusal>(() => whep.StartAsync(name, NoSipWarmUp.Offer(), IPAddress.Loopback, CancellationToken.None))).Kind);
        Assert.Equal(probed, relays.ProbedChannels);

        // A channel that is live on the ingest node probes live.
        Assert.True(ingest.Registry.TryStartPublish("onair", out var live));
        Assert.Equal(RelayRound.Live, await relays.ProbeAsync("onair", CancellationToken.None));
        ingest.Registry.EndPublish(live);
        // An unreachable ingest node is not "off air".
        var nobody = Relays([new Uri($"http://127.0.0.1:{FreePort.Tcp()}/")], Token);
        Assert.Equal(RelayRound.Unreachable, await nobody.ProbeAsync("onair", CancellationToken.None));
    }

    /// <summary>The ingest side: a hub registry, the node credential and the feed endpoint on a loopback Kestrel.</summary>
    private sealed class IngestNode : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TempDirectory _janusDirectory;
        private readonly JanusSupervisor _janus;

        private IngestNode(WebApplication app, TempDirectory janusDirectory, JanusSupervisor janus, LiveStreamRegistry registry, WhepService whep)
        {
            _app = app;
            _janusDirectory = janusDirectory;
            _janus = janus;
            Registry = registry;
            Whep = whep;
        }

        public LiveStreamRegistry Registry { get; }

        public WhepService Whep { get; }

        public Uri BaseUrl => new(_app.Urls.First() + "/");

        public static async Task<IngestNode> StartAsync(string token)
        {
            var registry = new LiveStreamRegistry();
            var directory = new TempDirectory("janus-config");
            // The feed needs no Janus: it is the ingest node's hub as FLV.
            var janus = new JanusSupervisor(Options.Create(new JanusOptions { ConfigDirectory = directory.Path, Enabled = false }), NullLogger<JanusSupervisor>.Instance);
            var whep = new WhepService(janus, registry, Options.Create(new WhepOptions { FfmpegPath = "ffmpeg" }), NullLogger<WhepService>.Instance);
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton(registry).AddSingleton(new RelayCredential(token)).AddSingleton(whep);
            var app = builder.Build();
            app.MapRealTimeFeed();
            await app.StartAsync();
            return new IngestNode(app, directory, janus, registry, whep);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            await Whep.DisposeAsync();
            await _janus.DisposeAsync();
            _janusDirectory.Dispose();
        }
    }

    /// <summary>A server that answers every feed request 200 with bytes that are not FLV.</summary>
    private sealed class GarbageNode : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private GarbageNode(WebApplication app) => _app = app;

        public Uri BaseUrl => new(_app.Urls.First() + "/");

        public static async Task<GarbageNode> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.MapGet("/internal/realtime/{channel}/feed.flv", (HttpContext context) =>
                context.Response.Body.WriteAsync("HTTP/1.1 this is not an FLV stream at all, only text"u8.ToArray()).AsTask());
            await app.StartAsync();
            return new GarbageNode(app);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
