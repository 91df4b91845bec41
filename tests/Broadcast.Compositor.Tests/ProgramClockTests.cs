namespace Broadcast.Compositor.Tests;

public sealed class ProgramClockTests
{
    /// <summary>rate, frame, its 90 kHz ticks, its first audio sample, samples during it.</summary>
    public static TheoryData<int, int, long, long, long, int> Frames() => new()
    {
        { 30, 1, 0, 0, 0, 1600 },
        { 30, 1, 1, 3000, 1600, 1600 },
        { 30, 1, 30, 90_000, 48_000, 1600 },
        { 25, 1, 7, 25_200, 13_440, 1920 },
        { 60, 1, 59, 88_500, 47_200, 800 },
        // 24 hours at 30 fps, and ten years: exact, nothing accumulated.
        { 30, 1, 2_592_000, 7_776_000_000, 4_147_200_000, 1600 },
        { 30, 1, 9_467_280_000, 28_401_840_000_000, 15_147_648_000_000, 1600 },
        // 29.97: 3003 ticks a frame; audio alternates 1601 and 1602 samples over five frames (8008 in all).
        { 30000, 1001, 1, 3003, 1601, 1602 },
        { 30000, 1001, 5, 15_015, 8008, 1601 },
        { 30000, 1001, 30_000, 90_090_000, 48_048_000, 1601 },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void Derives_each_frame_from_its_index(int numerator, int denominator, long frame, long ticks, long sample, int samplesDuring)
    {
        var clock = new ProgramClock(numerator, denominator);
        Assert.Equal(ticks, clock.VideoTicks(frame));
        Assert.Equal(sample, clock.AudioSample(frame));
        Assert.Equal(samplesDuring, clock.AudioSamplesDuring(frame));
        Assert.Equal(frame, clock.FrameAt(ticks));
        Assert.Equal(frame, clock.FrameAt(clock.VideoTicks(frame + 1) - 1));
    }

    [Fact]
    public void Every_frame_of_an_integer_rate_lasts_the_same()
    {
        foreach (int rate in new[] { 25, 30, 60 })
        {
            var clock = new ProgramClock(rate);
            for (long frame = 0; frame < 10_000; frame++)
            {
                Assert.Equal(90_000 / rate, clock.VideoTicks(frame + 1) - clock.VideoTicks(frame));
                Assert.Equal(48_000 / rate, clock.AudioSamplesDuring(frame));
            }
        }
    }

    [Fact]
    public void Refuses_rates_that_are_not_rates()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgramClock(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgramClock(30, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgramClock(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgramClock(30).VideoTicks(-1));
    }
}
