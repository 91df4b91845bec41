using Broadcast.Media;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Broadcast.Ingest.Pull;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Ingest.Tests.Pull;

/// <summary>Pull sessions with the real ffprobe and ffmpeg reading real files and a closed port, publishing into a real hub.</summary>
[Trait("Kind", "Component")]
public sealed class PullSessionTests : IDisposable
{
    private static readonly ClipSpec Clip = new() { Seconds = 4, Width = 320, Height = 240, Container = ClipContainer.Mp4 };
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("pull-session").FullName;
    private readonly LiveStreamRegistry _registry = new();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private PullOptions Options => new()
    {
        // The node's locator fills this from configuration; built by hand, the options name ffmpeg on PATH themselves.
        FfmpegPath = Broadcast.Processes.FfmpegLocator.Default,
        MediaRoot = _root,
        RetryInitial = TimeSpan.FromMilliseconds(200),
        RetryMax = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>The unreachable source below is on loopback: the outbound policy is told so, as an operator would.</summary>
    private static OutboundGuard LoopbackAllowed { get; } =
        new(new OutboundUrlPolicy(OutboundAllowList.Parse([], ["127.0.0.0/8"])), new FakeHostResolver());

    private async Task<string> LibraryClipAsync(string name)
    {
        File.Copy(await TestMedia.GetClipAsync(Clip), Path.Combine(_root, name), overwrite: true);
        return name;
    }

    private PullSession Start(string url, bool loop = false, string name = "pulled", bool audioOnlyAllowed = false)
    {
        var session = new PullSession(new PullSpec(name, "channel-1", url, loop, "k1", AudioOnlyAllowed: audioOnlyAllowed), _registry, Options, LoopbackAllowed, NullLogger.Instance, TicketsForTests.Instance);
        session.Start();
        return session;
    }

    private static Task WaitAsync(Func<bool> condition, string what, PullSession session) =>
        WaitFor.ConditionAsync(condition, Bound, what, () => session.Status.ToString());

    [Fact]
    public async Task A_file_played_once_goes_live_in_the_hub_and_stops_at_its_end()
    {
        var file = await LibraryClipAsync("once.mp4");
        LiveStream? seen = null;
        _registry.Published += s => seen = s;
        await using var session = Start("file:" + file);
        int lives = 0;
        session.WentLive += _ => lives++;

        await WaitAsync(() => seen is { Video: not null, Audio: not null } s && s.Statistics.VideoFrames > 10, "frames of the file in the hub", session);
        Assert.Equal("channel-1", seen!.Tag);
        Assert.Equal(Codec.H264, seen.Video!.Codec);
        Assert.Equal(320, seen.Video.Width);
        Assert.Equal(PullState.Live, session.Status.State);
        Assert.Equal("video h264 (copied), audio aac (copied)", session.Status.Detail);

        await session.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Stopped, session.Status.State);
        Assert.Equal("the source played to its end", session.Status.Reason);
        Assert.True(seen.IsCompleted);
        Assert.Null(_registry.Find("pulled"));
        Assert.Equal(1, lives);
        // Read at native rate: 4 s of media took about 4 s, all of it arrived.
        Assert.InRange(seen.Statistics.VideoFrames, Clip.ExpectedVideoFrames - 2, Clip.ExpectedVideoFrames);
    }

    [Fact]
    public async Task A_file_of_sound_alone_is_a_music_bed_where_allowed_and_refused_for_a_channel()
    {
        MediaTools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:a", "libmp3lame",
            Path.Combine(_root, "bed.mp3"));
        LiveStream? seen = null;
        _registry.Published += s => seen = s;
        await using (var bed = Start("file:bed.mp3", audioOnlyAllowed: true, name: "bed"))
        {
            await WaitAsync(() => seen is { Audio: not null } s && s.Statistics.AudioFrames > 20, "the file's sound in the hub", bed);
            Assert.Null(seen!.Video);
            Assert.Equal(Codec.Aac, seen.Audio!.Codec);
            Assert.Equal("video none, audio mp3 (encoded to aac)", bed.Status.Detail);
        }

        await using var channel = Start("file:bed.mp3", name: "channel");
        await channel.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Failed, channel.Status.State);
        Assert.Contains("a channel needs video", channel.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_text_file_is_not_media_and_fails_without_retrying()
    {
        File.WriteAllText(Path.Combine(_root, "notes.txt"), "These are not the frames you are looking for.\n");
        bool published = false;
        _registry.Published += _ => published = true;
        await using var session = Start("file:notes.txt");

        await session.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Failed, session.Status.State);
        Assert.Equal("not a media stream: ffmpeg says \"Invalid data found when processing input\"", session.Status.Reason);
        Assert.Equal(1, session.Status.Attempts);
        Assert.False(published);
        Assert.Null(session.ProcessId);
    }

    [Fact]
    public async Task A_missing_file_fails_with_its_reason()
    {
        await using var session = Start("file:nowhere.mp4");
        await session.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Failed, session.Status.State);
        Assert.Equal("the file does not exist in the media library", session.Status.Reason);
    }

    [Fact]
    public async Task An_unreachable_source_retries_with_growing_backoff_until_stopped()
    {
        int port = FreePort.Tcp();
        var session = Start($"rtmp://127.0.0.1:{port}/live/key");
        var waits = new List<TimeSpan>();
        session.StateChanged += (_, s) =>
        {
            if (s is { State: PullState.Retrying, NextAttemptAt: { } next }) lock (waits) waits.Add(next - s.Since);
        };
        await WaitAsync(() => { lock (waits) return waits.Count >= 3; }, "three retries", session);
        var status = session.Status;
        Assert.Contains(status.State, new[] { PullState.Retrying, PullState.Starting });
        Assert.Equal("connection refused", status.Reason);
        Assert.Equal($"rtmp://127.0.0.1:{port}/live/…", status.Source);
        lock (waits)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(200), waits[0]);
            Assert.Equal(TimeSpan.FromMilliseconds(400), waits[1]);
            Assert.Equal(TimeSpan.FromMilliseconds(800), waits[2]);
        }

        await session.DisposeAsync();
        Assert.Equal(PullState.Stopped, session.Status.State);
        Assert.Null(_registry.Find("pulled"));
    }

    [Fact]
    public async Task A_looped_file_keeps_going_until_the_server_ends_the_broadcast()
    {
        var file = await LibraryClipAsync("loop.mp4");
        await using var session = Start("file:" + file, loop: true);
        await WaitAsync(() => _registry.Find("pulled") is { } s && s.Statistics.VideoFrames > Clip.ExpectedVideoFrames + 15, "the loop past the file's end", session);
        Assert.Equal(PullState.Live, session.Status.State);

        // An event's end or an admin ends the stream: the pull stops for good instead of coming back.
        _registry.EndPublish(_registry.Find("pulled")!);
        await session.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Stopped, session.Status.State);
        Assert.StartsWith("the server ended the broadcast", session.Status.Reason, StringComparison.Ordinal);
        Assert.Null(session.ProcessId);
    }

    [Fact]
    public async Task A_channel_already_live_from_a_publisher_is_retried_not_taken_over()
    {
        var file = await LibraryClipAsync("busy.mp4");
        Assert.True(_registry.TryStartPublish("pulled", out var pushed));
        await using var session = Start("file:" + file);
        await WaitAsync(() => session.Status is { State: PullState.Retrying, Reason: "the channel is already live from another publisher" }, "a refused publish", session);
        Assert.Same(pushed, _registry.Find("pulled"));
        Assert.False(pushed.IsCompleted);
    }

    [Fact]
    public async Task The_supervisor_starts_replaces_and_stops_sessions_by_assignment()
    {
        var file = await LibraryClipAsync("sup.mp4");
        var supervisor = new PullSupervisor(_registry, Options, LoopbackAllowed, NullLoggerFactory.Instance, TicketsForTests.Instance);
        supervisor.Apply([new PullSpec("a", "ch-a", "file:" + file, true, "v1")]);
        var first = supervisor.Find("a")!;
        await WaitAsync(() => first.Status.State == PullState.Live, "the first session live", first);

        supervisor.Apply([new PullSpec("a", "ch-a", "file:" + file, true, "v1")]);
        Assert.Same(first, supervisor.Find("a"));

        supervisor.Apply([new PullSpec("a", "ch-a", "file:" + file, true, "v2")]);
        var second = supervisor.Find("a")!;
        Assert.NotSame(first, second);
        await first.Completion.WaitAsync(Bound);
        await WaitAsync(() => second.Status.State == PullState.Live, "the replacement live", second);

        supervisor.Apply([]);
        Assert.Null(supervisor.Find("a"));
        await second.Completion.WaitAsync(Bound);
        await supervisor.StopAsync(CancellationToken.None);
        Assert.Null(_registry.Find("a"));
    }

    private PullSession StartWith(OutboundGuard guard, string url)
    {
        var session = new PullSession(new PullSpec("pulled", "channel-1", url, false, "k1"), _registry, Options, guard, NullLogger.Instance, TicketsForTests.Instance);
        session.Start();
        return session;
    }

    [Theory]
    [InlineData("rtmp://127.0.0.1:{port}/live/key", "refused by outbound policy: a loopback address")]
    [InlineData("http://[::ffff:127.0.0.1]:{port}/a.m3u8", "refused by outbound policy: a loopback address")]
    [InlineData("https://metadata.test:{port}/latest/meta-data/", "refused by outbound policy: the host resolves to a link-local address (the cloud metadata range)")]
    [InlineData("srt://loopback.test:{port}", "refused by outbound policy: the host resolves to a loopback address")]
    [InlineData("srt://0.0.0.0:{port}?mode=listener", "refused by outbound policy: srt mode=listener would make the server listen or bind a local port; only caller mode is allowed")]
    public async Task A_source_the_policy_refuses_at_start_fails_before_ffmpeg_runs(string url, string reason)
    {
        // The default policy (no allow-list), as a source stored before its DNS changed would meet it.
        int port = FreePort.Tcp();
        await using var session = StartWith(new OutboundGuard(new OutboundUrlPolicy(), new FakeHostResolver()), url.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        await session.Completion.WaitAsync(Bound);
        Assert.Equal(PullState.Failed, session.Status.State);
        Assert.Equal(reason, session.Status.Reason);
        Assert.Equal(1, session.Status.Attempts);
        Assert.Null(session.Status.Detail);
    }

    [Fact]
    public async Task Rtmp_connects_to_the_address_the_policy_checked()
    {
        // "pinned.test" exists only in the fake resolver: ffmpeg reaching the closed port ("connection refused") rather than failing to
        // resolve the name ("host not found") shows it was handed the checked address.
        int port = FreePort.Tcp();
        var guard = new OutboundGuard(new OutboundUrlPolicy(OutboundAllowList.Parse(["pinned.test"], [])), new FakeHostResolver().Map("pinned.test", "127.0.0.1"));
        await using var session = StartWith(guard, $"rtmp://pinned.test:{port}/live/key");
        await WaitAsync(() => session.Status is { State: PullState.Retrying, Reason: not null }, "a retry", session);
        Assert.Equal("connection refused", session.Status.Reason);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_retried_as_host_not_found()
    {
        await using var session = StartWith(new OutboundGuard(new OutboundUrlPolicy(), new FakeHostResolver()), "rtmp://gone.invalid/live/key");
        await WaitAsync(() => session.Status is { State: PullState.Retrying, Reason: not null }, "a retry", session);
        Assert.Equal("host not found", session.Status.Reason);
    }

}
