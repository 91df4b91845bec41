using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests;

/// <summary>
/// The continuity rules on their own, without a hub: who may take the broadcast next (a resume, a takeover, the slate's
/// fill, the grace's expiry), with which epoch, and where each new publish's frames land on the timeline (90 kHz video,
/// 48 kHz audio). <see cref="ReconnectTests"/> covers the same rules through the registry and a hub's readers.
/// </summary>
public sealed class BroadcastContinuityTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly VideoTrack Video = new(Codec.H264, new byte[] { 1, 0x64, 0, 0x1F }, "avc1.64001f", 320, 240);
    private static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    // Places a frame as the hub's Write does and returns where it landed.
    private static (long Dts, int Epoch) Place(BroadcastContinuity continuity, MediaTrack track, long dts)
    {
        var frame = MediaFrame.Rent(track, dts, 0, true, new byte[] { 1, 2, 3 });
        try
        {
            continuity.Place(frame);
            return (frame.Dts, frame.Epoch);
        }
        finally
        {
            frame.Release();
        }
    }

    // One second of 30 fps video from 0: the last frame at 87000, so the media ends at 90000.
    private static void OneSecondOfVideo(BroadcastContinuity continuity)
    {
        for (int i = 0; i < 30; i++) Assert.Equal((i * 3000L, 0), Place(continuity, Video, i * 3000L));
    }

    [Fact]
    public void The_first_publish_keeps_its_timestamps_in_epoch_0()
    {
        var continuity = new BroadcastContinuity(new ManualClock(Start));
        Assert.Null(continuity.LastVideoTime);
        OneSecondOfVideo(continuity);
        Assert.Equal((1024L, 0), Place(continuity, Audio, 1024));
        Assert.Equal(87_000L, continuity.LastVideoTime);
        Assert.Equal(0, continuity.Epoch);
        Assert.Equal(0, continuity.Resumes);
        Assert.False(continuity.IsReconnecting);
    }

    [Fact]
    public void An_interrupt_waits_until_its_deadline_and_a_second_one_is_refused()
    {
        var continuity = new BroadcastContinuity(new ManualClock(Start));
        Assert.False(continuity.TryResume(out _));
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        Assert.True(continuity.IsReconnecting);
        Assert.Equal(Start + TimeSpan.FromSeconds(30), continuity.ReconnectDeadline);
        Assert.False(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(60)));
        Assert.Equal(Start + TimeSpan.FromSeconds(30), continuity.ReconnectDeadline);
        Assert.Equal(0, continuity.Epoch);
    }

    [Fact]
    public void A_resume_is_a_new_epoch_placed_after_the_media_plus_the_time_away()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        OneSecondOfVideo(continuity);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.True(continuity.TryResume(out bool fillEnded));
        Assert.False(fillEnded);
        Assert.False(continuity.IsReconnecting);
        Assert.Null(continuity.ReconnectDeadline);
        Assert.Equal(1, continuity.Epoch);
        Assert.Equal(1, continuity.Resumes);
        Assert.False(continuity.TryResume(out _));

        // The new connection starts at 0 again: 90000 + 5 s = 540000 for every track, each in its own timescale.
        Assert.Equal((540_000L, 1), Place(continuity, Video, 0));
        Assert.Equal((288_000L, 1), Place(continuity, Audio, 0));
        Assert.Equal((543_000L, 1), Place(continuity, Video, 3000));
        Assert.Equal(543_000L, continuity.LastVideoTime);
    }

    [Fact]
    public void A_publisher_whose_clock_runs_on_is_moved_back_onto_the_timeline()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        OneSecondOfVideo(continuity);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(continuity.TryResume(out _));
        // Its first frame at 100 s: the offset is negative, and the next frame keeps its distance from the first.
        Assert.Equal((270_000L, 1), Place(continuity, Video, 9_000_000));
        Assert.Equal((273_000L, 1), Place(continuity, Video, 9_003_000));
    }

    [Fact]
    public void The_offset_after_each_rejoin_follows_where_the_previous_epoch_ended()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        OneSecondOfVideo(continuity);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(continuity.TryResume(out _));
        Assert.Equal((180_000L, 1), Place(continuity, Video, 0));
        Assert.Equal((183_000L, 1), Place(continuity, Video, 3000)); // epoch 1 ends at 186000

        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(60)));
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(continuity.TryResume(out _));
        Assert.Equal((456_000L, 2), Place(continuity, Video, 0));
        Assert.Equal(2, continuity.Resumes);
    }

    [Fact]
    public void A_fill_is_an_epoch_of_its_own_that_a_resume_ends_with_no_time_away_after_it()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        Assert.Equal(-1, continuity.TryBeginFill()); // the publisher is still there
        OneSecondOfVideo(continuity);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(2));

        int fill = continuity.TryBeginFill();
        Assert.Equal(1, fill);
        Assert.Equal(-1, continuity.TryBeginFill());
        Assert.True(continuity.Fills(fill));
        Assert.Equal(0, continuity.Resumes);
        // The slate starts after the media plus the 2 s away so far.
        Assert.Equal((270_000L, 1), Place(continuity, Video, 0));
        Assert.Equal((273_000L, 1), Place(continuity, Video, 3000)); // the fill ends at 276000

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.True(continuity.TryResume(out bool fillEnded));
        Assert.True(fillEnded);
        Assert.False(continuity.Fills(fill));
        Assert.Equal(2, continuity.Epoch);
        Assert.Equal(1, continuity.Resumes);
        // The fill kept pace with the clock: the encoder's frames follow it directly.
        Assert.Equal((276_000L, 2), Place(continuity, Video, 0));
    }

    [Fact]
    public void The_grace_expires_only_when_no_resume_came_since_it_started()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        Assert.False(continuity.TryExpire(0)); // not waiting

        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        Assert.True(continuity.TryResume(out _));
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        Assert.False(continuity.TryExpire(0)); // the first grace's timer, outrun by the resume

        int fill = continuity.TryBeginFill();
        Assert.True(continuity.TryExpire(1));
        Assert.False(continuity.IsReconnecting);
        Assert.Null(continuity.ReconnectDeadline);
        Assert.False(continuity.Fills(fill));
        Assert.False(continuity.TryExpire(1));
        Assert.False(continuity.TryResume(out _));
    }

    [Fact]
    public void A_takeover_needs_the_silence_and_counts_it_as_the_time_away()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        OneSecondOfVideo(continuity);
        continuity.Wrote();
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(continuity.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        Assert.False(continuity.TryTakeOver(TimeSpan.Zero));
        Assert.Equal(0, continuity.Epoch);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(3), continuity.SilentFor);
        Assert.True(continuity.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        Assert.Equal(1, continuity.Epoch);
        Assert.Equal(1, continuity.Resumes);
        Assert.False(continuity.IsReconnecting);
        // The new publisher counts as having just written: it is not taken over at once in turn.
        Assert.Equal(TimeSpan.Zero, continuity.SilentFor);
        Assert.False(continuity.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        // 90000 + 3 s of silence.
        Assert.Equal((360_000L, 1), Place(continuity, Video, 0));
    }

    [Fact]
    public void A_waiting_broadcast_is_resumed_not_taken_over()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(continuity.TryTakeOver(TimeSpan.FromSeconds(1.5)));
        Assert.Equal(0, continuity.Resumes);
    }

    [Fact]
    public void A_continued_broadcast_starts_in_epoch_1_after_the_stored_end_and_the_time_away()
    {
        var continuity = new BroadcastContinuity(new ManualClock(Start));
        Assert.True(continuity.TryContinueAfter(900_000, TimeSpan.FromSeconds(2)));
        Assert.Equal(1, continuity.Epoch);
        Assert.False(continuity.TryContinueAfter(0, TimeSpan.Zero));
        Assert.Equal((1_080_000L, 1), Place(continuity, Video, 0));
        Assert.Equal((576_480L, 1), Place(continuity, Audio, 480));
    }

    [Fact]
    public void A_broadcast_that_placed_a_frame_cannot_be_continued()
    {
        var continuity = new BroadcastContinuity(new ManualClock(Start));
        Place(continuity, Audio, 0);
        Assert.False(continuity.TryContinueAfter(900_000, TimeSpan.FromSeconds(2)));
        Assert.Equal(0, continuity.Epoch);
    }

    [Fact]
    public void Frames_of_tracks_beside_the_source_are_moved_alike_but_do_not_move_where_the_media_ends()
    {
        var clock = new ManualClock(Start);
        var continuity = new BroadcastContinuity(clock);
        OneSecondOfVideo(continuity);
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        Assert.True(continuity.TryResume(out _));

        // A rung's frame comes first after the rejoin: the offset is computed from it and shared with the source's frames.
        var rung = MediaFrame.Rent(Video, 0, 0, true, new byte[] { 1 });
        continuity.Join(rung);
        Assert.Equal((90_000L, 1), (rung.Dts, rung.Epoch));
        var late = MediaFrame.Rent(Video, 900_000, 0, true, new byte[] { 1 });
        continuity.Join(late);
        Assert.Equal(990_000L, late.Dts);
        rung.Release();
        late.Release();

        // Where the media ends came from the source's own frames only: the next rejoin follows 93000, not 993000.
        Assert.Equal((90_000L, 1), Place(continuity, Video, 0));
        Assert.True(continuity.TryInterrupt(Start + TimeSpan.FromSeconds(30)));
        Assert.True(continuity.TryResume(out _));
        Assert.Equal((93_000L, 2), Place(continuity, Video, 0));
    }
}
