using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests;

/// <summary>
/// Encoder reconnects at the hub: a dropped publish waits for its grace period (<see cref="LiveStreamRegistry.Interrupt"/>),
/// the same name publishing again resumes the same <see cref="LiveStream"/> with its timestamps moved after the previous
/// media plus the time away, and past the grace the stream ends as an unpublish does.
/// </summary>
public sealed class ReconnectTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly VideoTrack Video = new(Codec.H264, new byte[] { 1, 0x64, 0, 0x1F }, "avc1.64001f", 320, 240);
    private static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    private static MediaFrame Frame(MediaTrack track, long dts, bool key) => MediaFrame.Rent(track, dts, 0, key, new byte[] { 1, 2, 3 });

    public static TheoryData<string, long, long, long, long> JoinCases => new()
    {
        // name, previous end, gap, first new, offset (all 90 kHz)
        { "restart at zero after 5 s", 900_000, 450_000, 0, 1_350_000 },
        { "restart at a late timestamp", 900_000, 450_000, 2_700_000, -1_350_000 },
        { "no gap", 900_000, 0, 0, 900_000 },
        { "negative gap counts as none", 900_000, -90_000, 0, 900_000 },
        { "new stamps already past", 900_000, 90_000, 90_000_000, -89_010_000 },
    };

    [Theory]
    [MemberData(nameof(JoinCases))]
    public void Join_offset_places_the_first_new_frame_after_the_previous_media_and_the_gap(string name, long end, long gap, long first, long expected)
    {
        Assert.True(expected == TimelineJoin.Offset(end, gap, first), name);
        Assert.Equal(end + Math.Max(0, gap), first + TimelineJoin.Offset(end, gap, first));
    }

    [Fact]
    public void Wall_clock_spans_become_90_kHz_ticks_without_overflow()
    {
        Assert.Equal(450_000, TimelineJoin.ToVideoTicks(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, TimelineJoin.ToVideoTicks(TimeSpan.FromSeconds(-1)));
        Assert.Equal((long)((Int128)TimeSpan.MaxValue.Ticks * 9 / 1000), TimelineJoin.ToVideoTicks(TimeSpan.MaxValue));
    }

    [Fact]
    public void A_new_hub_continuing_another_nodes_broadcast_places_its_first_frame_after_that_media_and_the_time_away()
    {
        var registry = new LiveStreamRegistry(new ManualClock(Start));
        // The packager continues the broadcast when the publish is announced, before the publisher's first frame.
        registry.Published += s => Assert.True(s.TryContinueAfter(900_000, TimeSpan.FromSeconds(2)));
        Assert.True(registry.TryStartPublish("chan", out var continued));
        using var reader = continued.OpenReader("test");
        continued.Write(Frame(Video, 0, true));
        continued.Write(Frame(Audio, 480, true)); // 10 ms at 48 kHz
        continued.Write(Frame(Video, 3000, false));
        // 10 s of media plus 2 s away: 12 s, at 90 kHz for video and 48 kHz for audio; the frames carry epoch 1.
        Assert.Equal([(1_080_000L, 1), (576_480L, 1), (1_083_000L, 1)], Drain(reader));
        Assert.False(continued.TryContinueAfter(0, TimeSpan.Zero));
    }

    [Fact]
    public void A_hub_that_already_has_frames_cannot_be_continued()
    {
        var registry = new LiveStreamRegistry(new ManualClock(Start));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        stream.Write(Frame(Video, 0, true));
        Assert.False(stream.TryContinueAfter(900_000, TimeSpan.FromSeconds(2)));
        Assert.Equal(0, stream.Epoch);
    }

    [Fact]
    public void A_reconnect_within_the_grace_resumes_the_same_stream_with_timestamps_after_the_gap()
    {
        var clock = new ManualClock(Start);
        var registry = new LiveStreamRegistry(clock);
        var resumed = new List<LiveStream>();
        registry.Resumed += resumed.Add;
        Assert.True(registry.TryStartPublish("chan", out var stream));
        using var reader = stream.OpenReader("test");
        // 1 s of 30 fps video (last dts 87000) and 48 kHz audio (last 46 frames, ends at 47104 samples).
        for (int i = 0; i < 30; i++) stream.Write(Frame(Video, i * 3000L, i == 0));
        for (int i = 0; i < 46; i++) stream.Write(Frame(Audio, i * 1024L, true));
        Drain(reader);

        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        Assert.True(stream.IsReconnecting);
        Assert.Equal(Start + TimeSpan.FromSeconds(30), stream.ReconnectDeadline);
        Assert.Same(stream, registry.Find("chan"));

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(registry.TryStartPublish("chan", out var again));
        Assert.Same(stream, again);
        Assert.Equal([stream], resumed);
        Assert.False(stream.IsReconnecting);
        Assert.Equal(1, stream.Epoch);

        // The new connection starts its clock at 0 again.
        stream.Write(Frame(Video, 0, true));
        stream.Write(Frame(Audio, 0, true));
        stream.Write(Frame(Video, 3000, false));
        var frames = Drain(reader);
        // Previous end: video 87000 + 3000 = 90000 (audio ends at 47104/48000 s = 88320), plus 5 s = 540000.
        Assert.Equal([540_000L, 540_000L * 48000 / 90000, 543_000L], frames.Select(f => f.Dts));
        Assert.All(frames, f => Assert.Equal(1, f.Epoch));
        Assert.False(stream.IsCompleted);

        // Its grace timer is gone: the original deadline passes without ending the broadcast.
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.False(stream.IsCompleted);
    }

    [Fact]
    public void Past_the_grace_the_stream_ends_as_an_unpublish_does()
    {
        var clock = new ManualClock(Start);
        var registry = new LiveStreamRegistry(clock);
        var ended = new List<LiveStream>();
        registry.Unpublished += ended.Add;
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(stream.IsCompleted);
        Assert.Empty(ended);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(stream.IsCompleted);
        Assert.False(stream.IsReconnecting);
        Assert.Equal([stream], ended);
        Assert.Null(registry.Find("chan"));

        // The next publish is a new broadcast.
        Assert.True(registry.TryStartPublish("chan", out var next));
        Assert.NotSame(stream, next);
        Assert.Equal(0, next.Epoch);
    }

    [Fact]
    public void A_second_publisher_while_the_first_is_connected_is_refused()
    {
        var registry = new LiveStreamRegistry(new ManualClock(Start));
        Assert.True(registry.TryStartPublish("chan", out var first));
        Assert.False(registry.TryStartPublish("chan", out var existing));
        Assert.Same(first, existing);
        Assert.Equal(0, first.Epoch);
    }

    [Fact]
    public void A_new_publisher_takes_over_a_connected_one_only_once_it_has_been_silent_long_enough()
    {
        var clock = new ManualClock(Start);
        var registry = new LiveStreamRegistry(clock);
        var takenOver = new List<LiveStream>();
        var replaced = new List<int>();
        registry.TakenOver += takenOver.Add;
        Assert.True(registry.TryStartPublish("chan", out var stream));
        stream.PublisherReplaced += s => replaced.Add(s.Resumes);
        using var reader = stream.OpenReader("test");
        // 1 s of 30 fps video: the last frame at 87000, written at Start + 1 s.
        for (int i = 0; i < 30; i++)
        {
            stream.Write(Frame(Video, i * 3000L, i == 0));
            clock.Advance(TimeSpan.FromSeconds(1.0 / 30));
        }
        Drain(reader);

        // Still sending (the last frame 1.4 s ago): a second encoder with the key is refused, the first untouched.
        clock.Advance(TimeSpan.FromSeconds(1.4) - TimeSpan.FromSeconds(1.0 / 30));
        Assert.False(registry.TryStartPublish("chan", TimeSpan.FromSeconds(1.5), out var refused));
        Assert.Same(stream, refused);
        Assert.Equal(0, stream.Epoch);
        Assert.Empty(replaced);
        // Without takeover (programs, rooms, pulls), however long the silence, it stays refused.
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(registry.TryStartPublish("chan", out _));

        // Silent for 11.4 s now: taken over, the same broadcast, the old publisher told (it holds Resumes 0).
        Assert.True(registry.TryStartPublish("chan", TimeSpan.FromSeconds(1.5), out var again));
        Assert.Same(stream, again);
        Assert.Equal([stream], takenOver);
        Assert.Equal([1], replaced);
        Assert.Equal(1, stream.Epoch);
        Assert.False(stream.IsReconnecting);
        Assert.False(stream.IsCompleted);

        // The new connection's clock starts at 0: its frames follow the old media (90000) plus the 11.4 s of silence.
        stream.Write(Frame(Video, 0, true));
        stream.Write(Frame(Video, 3000, false));
        Assert.Equal([(90_000L + 1_026_000L, 1), (90_000L + 1_029_000L, 1)], Drain(reader));

        // And the new publisher is itself "still sending" for the next one.
        Assert.False(registry.TryStartPublish("chan", TimeSpan.FromSeconds(1.5), out _));
    }

    [Fact]
    public void A_takeover_counts_silence_from_the_publish_when_no_frame_ever_came()
    {
        var clock = new ManualClock(Start);
        var registry = new LiveStreamRegistry(clock);
        Assert.True(registry.TryStartPublish("chan", out var stream));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(stream.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(2), stream.SilentFor);
        Assert.False(stream.TryTakeOver(TimeSpan.Zero));
        Assert.True(stream.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        // A stream that waits for a reconnect is resumed, not taken over; an ended one is neither.
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(stream.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        registry.EndPublish(stream);
        Assert.False(stream.TryTakeOver(TimeSpan.FromSeconds(1.5)));
    }

    [Fact]
    public void Without_a_grace_a_drop_ends_at_once()
    {
        var registry = new LiveStreamRegistry(new ManualClock(Start));
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Assert.False(registry.Interrupt(stream, TimeSpan.Zero));
        Assert.True(stream.IsCompleted);
        Assert.Null(registry.Find("chan"));
    }

    [Fact]
    public void An_end_by_the_server_during_the_grace_ends_the_stream_and_cancels_the_timer()
    {
        var clock = new ManualClock(Start);
        var registry = new LiveStreamRegistry(clock);
        int unpublished = 0;
        registry.Unpublished += _ => unpublished++;
        Assert.True(registry.TryStartPublish("chan", out var stream));
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        registry.EndPublish(stream);
        Assert.True(stream.IsCompleted);
        Assert.False(stream.TryResume());
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, unpublished);
    }

    private static List<(long Dts, int Epoch)> Drain(LiveStreamReader reader)
    {
        var list = new List<(long, int)>();
        for (int i = 0; i < 10_000 && reader.TryRead(out var f); i++)
        {
            list.Add((f!.Dts, f.Epoch));
            f.Release();
        }
        return list;
    }
}
