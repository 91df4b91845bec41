using Broadcast.Compositor.Audio;
using Broadcast.Media;

namespace Broadcast.Compositor;

/// <summary>
/// The program's timeline at a constant frame rate: frame n's presentation time in 90 kHz ticks and the audio sample
/// that starts with it. Each is computed from n alone (n · 90000 · den / num, rounded down), never by adding frame
/// durations, so no error accumulates over a programme of any length; at 25, 30 or 60 fps every frame lasts exactly
/// 3600, 3000 or 1500 ticks and 1920, 1600 or 800 samples.
/// </summary>
public sealed class ProgramClock
{
    public ProgramClock(int framesPerSecond)
        : this(framesPerSecond, 1)
    {
    }

    /// <summary>A frame rate of <paramref name="rateNumerator"/>/<paramref name="rateDenominator"/> frames a second
    /// (30000/1001 for NTSC rates).</summary>
    public ProgramClock(int rateNumerator, int rateDenominator)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rateNumerator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rateDenominator);
        if ((long)rateNumerator > 240L * rateDenominator)
            throw new ArgumentOutOfRangeException(nameof(rateNumerator), $"{rateNumerator}/{rateDenominator} fps is beyond any program rate");
        RateNumerator = rateNumerator;
        RateDenominator = rateDenominator;
    }

    public int RateNumerator { get; }

    public int RateDenominator { get; }

    /// <summary>Frame <paramref name="frame"/>'s presentation time in 90 kHz ticks.</summary>
    public long VideoTicks(long frame) => At(frame, Timescales.Video);

    /// <summary>The index (at 48 kHz) of the first audio sample frame that belongs to video frame <paramref name="frame"/>.</summary>
    public long AudioSample(long frame) => At(frame, ProgramAudio.SampleRate);

    /// <summary>How many audio sample frames play during video frame <paramref name="frame"/>.</summary>
    public int AudioSamplesDuring(long frame) => (int)(AudioSample(frame + 1) - AudioSample(frame));

    /// <summary>The last frame that starts at or before <paramref name="videoTicks"/> (90 kHz).</summary>
    public long FrameAt(long videoTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(videoTicks);
        // The largest n with floor(n · 90000 · den / num) ≤ t is floor(((t + 1) · num − 1) / (90000 · den)).
        Int128 scaled = (((Int128)videoTicks + 1) * RateNumerator) - 1;
        return (long)(scaled / ((Int128)Timescales.Video * RateDenominator));
    }

    private long At(long frame, int timescale)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frame);
        return (long)((Int128)frame * timescale * RateDenominator / RateNumerator);
    }
}
