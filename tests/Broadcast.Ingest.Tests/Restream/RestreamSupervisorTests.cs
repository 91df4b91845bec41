using System.Collections.Concurrent;
using Broadcast.Ingest.Restream;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.Media;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Tests.Restream;

/// <summary>
/// Component test: the supervisor pushes a live stream to two of our own RTMP servers on loopback while destinations
/// are added, disabled, re-enabled and removed, and while one destination server goes away and comes back.
/// </summary>
public class RestreamSupervisorTests
{
    private sealed class Destinations : IRestreamDestinationSource
    {
        public ConcurrentDictionary<string, RestreamDestination> Items { get; } = new();

        public Task<IReadOnlyList<RestreamDestination>> GetDestinationsAsync(LiveStream stream, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<RestreamDestination>>(Items.Values.ToList());
    }

    [Fact]
    public async Task Destinations_follow_changes_while_live_and_fail_alone()
    {
        var source = RtmpPublishClientTests.DemuxFfmpegClip();
        var first = await RtmpTestHost.StartAsync();
        var second = await RtmpTestHost.StartAsync();
        int secondPort = second.EndPoint.Port;
        var registry = new LiveStreamRegistry();
        var destinations = new Destinations();
        destinations.Items["d1"] = new RestreamDestination("d1", $"rtmp://127.0.0.1:{first.EndPoint.Port}/live", TestPublishAuthorizer.GoodKey);
        var supervisor = await StartSupervisorAsync(registry, destinations, LoopbackAllowed);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Assert.True(registry.TryStartPublish("src", out var stream));
        var feeding = FeedAsync(stream, source, stop.Token);
        try
        {
            await Until(() => State(supervisor, "d1") == RestreamPhase.Live && first.Registry.Find("news") is not null, "d1 live");

            // Added while live.
            destinations.Items["d2"] = new RestreamDestination("d2", $"rtmp://127.0.0.1:{secondPort}/live", TestPublishAuthorizer.GoodKey);
            await supervisor.RefreshAsync("src");
            await Until(() => State(supervisor, "d2") == RestreamPhase.Live && second.Registry.Find("news") is not null, "d2 live");
            await Until(() => supervisor.GetState("d2")!.BytesSent > 0, "d2 bytes counted");

            // Disabled while live: its server sees the publish end; the other is untouched.
            destinations.Items["d1"] = destinations.Items["d1"] with { Enabled = false };
            await supervisor.RefreshAsync("src");
            Assert.Equal(RestreamPhase.Stopped, State(supervisor, "d1"));
            await Until(() => first.Registry.Find("news") is null, "d1's server to see the publish end");
            Assert.Equal(RestreamPhase.Live, State(supervisor, "d2"));

            // d2's server goes away: d2 retries with a reason; d1 re-enabled meanwhile goes live regardless.
            long framesAtOutage = stream.Statistics.VideoFrames;
            await second.DisposeAsync();
            await Until(() => supervisor.GetState("d2") is { Phase: RestreamPhase.Retrying or RestreamPhase.Connecting, LastError: not null }, "d2 retrying");
            destinations.Items["d1"] = destinations.Items["d1"] with { Enabled = true };
            await supervisor.RefreshAsync("src");
            await Until(() => State(supervisor, "d1") == RestreamPhase.Live && first.Registry.Find("news") is not null, "d1 live again");
            Assert.NotEqual(RestreamPhase.Live, State(supervisor, "d2"));
            // The publisher was never blocked by the dead destination.
            Assert.True(stream.Statistics.VideoFrames > framesAtOutage);
            Assert.False(feeding.IsCompleted);

            // It comes back where it was: d2 resumes by itself.
            second = await RtmpTestHost.StartAsync(new Dictionary<string, string?> { ["Rtmp:Port"] = secondPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            await Until(() => State(supervisor, "d2") == RestreamPhase.Live && second.Registry.Find("news") is not null, "d2 live after its server returned");

            // Removed while live.
            destinations.Items.TryRemove("d2", out _);
            await supervisor.RefreshAsync("src");
            Assert.Equal(RestreamPhase.Stopped, State(supervisor, "d2"));
            await Until(() => second.Registry.Find("news") is null, "d2's server to see the publish end");

            // The publish ends: every session stops.
            registry.EndPublish(stream);
            await Until(() => State(supervisor, "d1") == RestreamPhase.Stopped, "d1 stopped with the stream");
        }
        finally
        {
            stop.Cancel();
            await feeding;
            await supervisor.DisposeAsync();
            await first.DisposeAsync();
            await second.DisposeAsync();
            foreach (var f in source.Frames) f.Release();
        }
    }

    /// <summary>These tests restream to servers on loopback: the outbound policy must be told so, as an operator would.</summary>
    /// <summary>A started supervisor with quick retries, checking destinations with <paramref name="guard"/>.</summary>
    private static async Task<RestreamSupervisor> StartSupervisorAsync(LiveStreamRegistry registry, Destinations destinations, OutboundGuard guard)
    {
        var supervisor = new RestreamSupervisor(registry, destinations, Options.Create(new RestreamOptions
        {
            BackoffInitialSeconds = 0.1, BackoffMaxSeconds = 0.5, RefreshSeconds = 0, ConnectTimeoutSeconds = 5, WriteTimeoutSeconds = 5,
        }), guard, TimeProvider.System, NullLogger<RestreamSupervisor>.Instance);
        await supervisor.StartAsync(CancellationToken.None);
        return supervisor;
    }

    private static OutboundGuard LoopbackAllowed { get; } =
        new(new OutboundUrlPolicy(OutboundAllowList.Parse([], ["127.0.0.0/8"])), new FakeHostResolver());

    [Fact]
    public async Task Destinations_are_checked_at_every_connection_and_connected_to_by_the_checked_address()
    {
        var source = RtmpPublishClientTests.DemuxFfmpegClip();
        var server = await RtmpTestHost.StartAsync();
        int port = server.EndPoint.Port;
        // "pinned.test" exists only in this resolver: the publish reaches the server only if the client connects to the address the
        // check resolved, not to the name. "rebind.test" resolves to a public and a loopback address; the policy refuses it.
        var resolver = new FakeHostResolver().Map("pinned.test", "127.0.0.1");
        var guard = new OutboundGuard(new OutboundUrlPolicy(OutboundAllowList.Parse(["pinned.test"], [])), resolver);
        var registry = new LiveStreamRegistry();
        var destinations = new Destinations();
        destinations.Items["pinned"] = new RestreamDestination("pinned", $"rtmp://pinned.test:{port}/live", TestPublishAuthorizer.GoodKey);
        destinations.Items["loopback"] = new RestreamDestination("loopback", $"rtmp://127.0.0.1:{port}/other", TestPublishAuthorizer.GoodKey);
        destinations.Items["rebind"] = new RestreamDestination("rebind", $"rtmp://rebind.test:{port}/third", TestPublishAuthorizer.GoodKey);
        var supervisor = await StartSupervisorAsync(registry, destinations, guard);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Assert.True(registry.TryStartPublish("src", out var stream));
        var feeding = FeedAsync(stream, source, stop.Token);
        try
        {
            await Until(() => State(supervisor, "pinned") == RestreamPhase.Live && server.Registry.Find("news") is not null, "the allow-listed name live");
            await Until(() => supervisor.GetState("loopback") is { Phase: RestreamPhase.Retrying or RestreamPhase.Connecting, Attempts: >= 2 }, "loopback refused twice");
            await Until(() => supervisor.GetState("rebind") is { Phase: RestreamPhase.Retrying or RestreamPhase.Connecting, Attempts: >= 2 }, "rebind refused twice");
            Assert.Equal("refused by outbound policy: a loopback address", supervisor.GetState("loopback")!.LastError);
            Assert.Equal("refused by outbound policy: the host resolves to a loopback address", supervisor.GetState("rebind")!.LastError);
            // One publish reached the server: the allowed one (the refused ones never connected, so never published).
            Assert.Single(server.Registry.Active);
            Assert.Contains("pinned.test", resolver.Asked);
        }
        finally
        {
            stop.Cancel();
            await feeding;
            await supervisor.DisposeAsync();
            await server.DisposeAsync();
            foreach (var f in source.Frames) f.Release();
        }
    }

    private static RestreamPhase? State(RestreamSupervisor supervisor, string id) => supervisor.GetState(id)?.Phase;

    private static async Task Until(Func<bool> condition, string what)
    {
        Assert.True(await RtmpTestHost.EventuallyAsync(condition, timeoutSeconds: 30), $"timed out waiting for {what}");
    }

    /// <summary>A publisher: the clip's frames again and again at about real time, each loop later by the clip's length.</summary>
    private static async Task FeedAsync(LiveStream stream, RtmpPublishClientTests.Source source, CancellationToken token)
    {
        stream.SetTrack(source.Video!);
        stream.SetTrack(source.Audio!);
        const long loopMs = 2100;
        try
        {
            for (int loop = 0; loop < 200 && !token.IsCancellationRequested; loop++)
            {
                foreach (var frame in source.Frames)
                {
                    long offset = Timescales.Rescale(loop * loopMs, Timescales.Milliseconds, frame.Track.Timescale);
                    stream.Write(MediaFrame.Rent(frame.Track, frame.Dts + offset, frame.CompositionOffset, frame.IsKeyframe, frame.Data.Span));
                    if (frame.Kind == MediaKind.Video) await Task.Delay(30, token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
