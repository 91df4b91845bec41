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
[Trait("Kind", "Component")]
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

    [Fact]
    public async Task A_multitrack_destination_gets_every_track_of_the_encoder_and_a_plain_one_the_default_tracks()
    {
        // The encoder's ladder as the hub holds it: a 640x360 default track with a 1 kHz tone, and beside it a 320x180 rung and
        // an alternate audio track with a 500 Hz tone (its own AudioSpecificConfig is the same as the default's: the bytes differ).
        var top = RtmpPublishClientTests.DemuxFfmpegClip();
        var side = RtmpPublishClientTests.DemuxFfmpegClip(size: "320x180", toneHz: 500);
        var multitrack = await RtmpTestHost.StartAsync();
        var plain = await RtmpTestHost.StartAsync();
        var registry = new LiveStreamRegistry();
        var destinations = new Destinations();
        destinations.Items["mt"] = new RestreamDestination("mt", $"rtmp://127.0.0.1:{multitrack.EndPoint.Port}/live", TestPublishAuthorizer.GoodKey,
            Multitrack: true);
        destinations.Items["plain"] = new RestreamDestination("plain", $"rtmp://127.0.0.1:{plain.EndPoint.Port}/live", TestPublishAuthorizer.GoodKey);
        var supervisor = await StartSupervisorAsync(registry, destinations, LoopbackAllowed);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Assert.True(registry.TryStartPublish("src", out var stream));
        var rung = stream.EncoderRung(1, maxTracks: 6, out string? refusal) ?? throw new InvalidOperationException(refusal);
        var alternate = stream.AlternateAudioTrack(7, AudioLabel.Unlabelled, maxTracks: 4, out refusal) ?? throw new InvalidOperationException(refusal);
        rung.SetTrack(side.Video!);
        alternate.SetTrack(side.Audio!);
        var late = new System.Runtime.CompilerServices.StrongBox<LiveStream?>();
        var feeding = FeedAsync(stream, top, stop.Token, (rung, alternate, side, late));
        try
        {
            await Until(() => State(supervisor, "mt") == RestreamPhase.Live && multitrack.Registry.Find("news") is { Video: not null }, "mt live");
            await Until(() => State(supervisor, "plain") == RestreamPhase.Live && plain.Registry.Find("news") is { Video: not null }, "plain live");
            var received = multitrack.Registry.Find("news")!;
            await Until(() => received.EncoderRungs.Count == 1 && received.AlternateAudioTracks.Count == 1, "the rung and the alternate audio at the destination");
            var receivedRung = received.EncoderRungs[0].Value;
            var receivedAudio = received.AlternateAudioTracks[0].Hub;
            await Until(() => receivedRung.Video is not null && receivedAudio.Audio is not null, "the side tracks' sequence starts");
            Assert.True(side.Video!.HasSameConfig(receivedRung.Video));
            Assert.True(side.Audio!.HasSameConfig(receivedAudio.Audio));
            Assert.True(top.Video!.HasSameConfig(received.Video));
            Assert.Equal(1, received.EncoderRungs[0].Key);
            Assert.Equal(1, received.AlternateAudioTracks[0].TrackId); // renumbered from the source's 7
            // The session counts the side tracks once their pumps start, just after it announced them (which the destination has
            // seen by now): on a loaded machine the count can trail the announcement.
            await Until(() => supervisor.GetState("mt") is { VideoTracks: 1, AudioTracks: 1 }, "the multitrack destination's track count");
            Assert.Equal((0, 0), (supervisor.GetState("plain")!.VideoTracks, supervisor.GetState("plain")!.AudioTracks));

            // Frames go on arriving on each track, a rung's picture starting at a keyframe with the encoder's bytes, on the default
            // track's timeline (the rung within a second of it).
            using var rungReader = receivedRung.OpenReader("check-rung", 4096);
            using var audioReader = receivedAudio.OpenReader("check-audio", 4096);
            using var frameWait = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            frameWait.CancelAfter(TimeSpan.FromSeconds(30));
            var rungFrames = await ReadAsync(rungReader, 60, frameWait.Token);
            long topMs = received.Statistics.LastVideoDtsMs;
            var audioFrames = await ReadAsync(audioReader, 60, frameWait.Token);
            try
            {
                var firstRung = rungFrames.First(f => f.Kind == MediaKind.Video);
                Assert.True(firstRung.IsKeyframe);
                Assert.Contains(side.Frames, f => f.Kind == MediaKind.Video && f.Data.Span.SequenceEqual(firstRung.Data.Span));
                Assert.Contains(side.Frames, f => f.Kind == MediaKind.Audio && f.Data.Span.SequenceEqual(audioFrames[^1].Data.Span));
                Assert.All(rungFrames.Zip(rungFrames.Skip(1)), pair => Assert.True(pair.Second.Dts > pair.First.Dts));
                long rungMs = Timescales.Rescale(rungFrames[^1].Dts, rungFrames[^1].Track.Timescale, Timescales.Milliseconds);
                Assert.True(Math.Abs(rungMs - topMs) < 2000, $"rung at {rungMs} ms, default track at {topMs} ms");
            }
            finally
            {
                foreach (var f in rungFrames.Concat(audioFrames)) f.Release();
            }

            // A language the encoder starts once the restream is live goes out too, from the default track's next keyframe on.
            var third = stream.AlternateAudioTrack(9, AudioLabel.Unlabelled, maxTracks: 4, out refusal) ?? throw new InvalidOperationException(refusal);
            third.SetTrack(side.Audio!);
            late.Value = third;
            await Until(() => received.AlternateAudioTracks.Count == 2 && received.AlternateAudioTracks[1].Hub.Statistics.AudioFrames > 10,
                "the late audio track's frames at the destination");
            Assert.Equal(2, received.AlternateAudioTracks[1].TrackId);
            await Until(() => supervisor.GetState("mt") is { VideoTracks: 1, AudioTracks: 2 }, "the late audio track in the destination's track count");

            // The plain destination got the default tracks only.
            var plainStream = plain.Registry.Find("news")!;
            Assert.True(top.Video.HasSameConfig(plainStream.Video));
            Assert.Empty(plainStream.EncoderRungs);
            Assert.Empty(plainStream.AlternateAudioTracks);
        }
        finally
        {
            stop.Cancel();
            await feeding;
            await supervisor.DisposeAsync();
            await multitrack.DisposeAsync();
            await plain.DisposeAsync();
            foreach (var f in top.Frames.Concat(side.Frames)) f.Release();
        }
    }

    private static async Task<List<MediaFrame>> ReadAsync(LiveStreamReader reader, int count, CancellationToken token)
    {
        var frames = new List<MediaFrame>();
        while (frames.Count < count && await reader.ReadAsync(token) is { } frame) frames.Add(frame);
        return frames;
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

    /// <summary>
    /// A publisher: the clip's frames again and again at about real time, each loop later by the clip's length; with
    /// <paramref name="beside"/>, a second clip's video and audio go to an encoder rung and an alternate audio track at the same times
    /// (its audio also to a late track once one is set).
    /// </summary>
    private static async Task FeedAsync(LiveStream stream, RtmpPublishClientTests.Source source, CancellationToken token,
        (LiveStream Rung, LiveStream Audio, RtmpPublishClientTests.Source Source, System.Runtime.CompilerServices.StrongBox<LiveStream?> Late)? beside = null)
    {
        stream.SetTrack(source.Video!);
        stream.SetTrack(source.Audio!);
        const long loopMs = 2100;
        try
        {
            for (int loop = 0; loop < 200 && !token.IsCancellationRequested; loop++)
            {
                for (int i = 0; i < source.Frames.Count; i++)
                {
                    stream.Write(Later(source.Frames[i], loop * loopMs));
                    if (beside is { } b && i < b.Source.Frames.Count)
                    {
                        var frame = Later(b.Source.Frames[i], loop * loopMs);
                        if (frame.Kind == MediaKind.Video) stream.WriteEncoderRung(b.Rung, frame);
                        else
                        {
                            if (b.Late.Value is { } lateTrack) stream.WriteAlternateAudio(lateTrack, Later(frame, 0));
                            stream.WriteAlternateAudio(b.Audio, frame);
                        }
                    }
                    if (source.Frames[i].Kind == MediaKind.Video) await Task.Delay(30, token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static MediaFrame Later(MediaFrame frame, long ms) =>
        MediaFrame.Rent(frame.Track, frame.Dts + Timescales.Rescale(ms, Timescales.Milliseconds, frame.Track.Timescale), frame.CompositionOffset,
            frame.IsKeyframe, frame.Data.Span);
}
