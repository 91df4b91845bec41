using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard;
using Broadcast.Control.Dashboard.Live;

namespace Broadcast.Control.Tests.Dashboard;

public sealed class EncoderAdviceTests
{
    private static readonly ChannelLiveState Good = new(true, DateTimeOffset.UnixEpoch, 3)
    {
        Video = new LiveVideoStatus("h264", "avc1.4d401f", 1280, 720, 30, "Main", "3.1"),
        Audio = new LiveAudioStatus("aac", "mp4a.40.2", 48000, 2),
        Bitrate = 4_000_000,
        Fps = 30,
        KeyframeIntervalMs = 2000,
    };

    [Fact]
    public void Healthy_stream_gets_one_reassuring_line()
    {
        var advice = EncoderAdvice.For(Good, [30, 30, 29.9, 30, 30.1]);
        var only = Assert.Single(advice);
        Assert.Equal(AdviceLevel.Info, only.Level);
    }

    [Fact]
    public void Off_air_gets_no_advice() => Assert.Empty(EncoderAdvice.For(ChannelLiveState.Offline));

    [Fact]
    public void Long_keyframe_interval_names_the_obs_setting_and_the_value_to_set()
    {
        var advice = EncoderAdvice.For(Good with { KeyframeIntervalMs = 8000 });
        var text = Assert.Single(advice, a => a.Level == AdviceLevel.Warning).Text;
        Assert.StartsWith("Keyframes every 8 s — set 2 s in OBS: Output → Keyframe Interval", text, StringComparison.Ordinal);
        Assert.Contains("-g 60", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Keyframe_interval_just_over_two_seconds_is_fine()
        => Assert.DoesNotContain(EncoderAdvice.For(Good with { KeyframeIntervalMs = 2033 }), a => a.Level == AdviceLevel.Warning);

    [Fact]
    public void Bitrate_far_above_what_the_resolution_needs_is_flagged()
    {
        var advice = EncoderAdvice.For(Good with { Bitrate = 20_000_000 });
        Assert.Contains(advice, a => a.Text.StartsWith("Bitrate 20 Mb/s is far above what 720p needs (about 6 Mb/s)", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_audio_is_flagged()
        => Assert.Contains(EncoderAdvice.For(Good with { Audio = null }), a => a.Text.StartsWith("No audio track.", StringComparison.Ordinal));

    [Fact]
    public void Unstable_frame_rate_is_flagged_and_needs_enough_samples()
    {
        Assert.Contains(EncoderAdvice.For(Good, [30, 18, 29, 30, 22]), a => a.Text.StartsWith("Frame rate unstable (18–30 fps for a 30 fps stream)", StringComparison.Ordinal));
        Assert.DoesNotContain(EncoderAdvice.For(Good, [30, 18]), a => a.Text.StartsWith("Frame rate unstable", StringComparison.Ordinal));
    }

    [Fact]
    public void Pipeline_warnings_are_passed_through()
        => Assert.Contains(EncoderAdvice.For(Good with { Warnings = ["Segment 12 was 6.1 s long"] }), a => a.Text == "Segment 12 was 6.1 s long");
}

public sealed class LiveSampleRingTests
{
    [Fact]
    public void Keeps_the_last_capacity_samples_oldest_first()
    {
        var ring = new LiveSampleRing(3);
        for (var i = 1; i <= 5; i++)
        {
            ring.Add(new LiveSample(i * 1000, i, i));
        }

        Assert.Equal(3, ring.Count);
        Assert.Equal([3000L, 4000L, 5000L], ring.Snapshot().Select(s => s.T));
        Assert.Equal([4000L, 5000L], ring.Snapshot(sinceUnixMs: 4000).Select(s => s.T));
    }

    [Fact]
    public void Ten_minutes_at_one_hertz_by_default()
    {
        var ring = new LiveSampleRing();
        for (var i = 0; i < 700; i++)
        {
            ring.Add(new LiveSample(i, 0, 0));
        }

        Assert.Equal(600, ring.Count);
        Assert.Equal(100, ring.Snapshot()[0].T);
    }

    [Fact]
    public void Empty_ring_and_bad_capacity()
    {
        Assert.Empty(new LiveSampleRing(2).Snapshot());
        Assert.Throws<ArgumentOutOfRangeException>(() => new LiveSampleRing(0));
    }
}
