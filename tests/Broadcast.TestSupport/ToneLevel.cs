namespace Broadcast.TestSupport;

/// <summary>The Goertzel algorithm: the magnitude of one frequency in a block of samples, relative to a full-scale sine (1.0).</summary>
public static class ToneLevel
{
    /// <summary>Amplitude of <paramref name="hz"/> in the left channel of interleaved stereo <paramref name="stereo"/> at 48 kHz.</summary>
    public static double Amplitude(ReadOnlySpan<float> stereo, double hz)
    {
        int n = stereo.Length / 2;
        double coefficient = 2 * Math.Cos(2 * Math.PI * hz / 48_000);
        double previous = 0, beforePrevious = 0;
        for (int i = 0; i < n; i++)
        {
            double current = stereo[i * 2] + (coefficient * previous) - beforePrevious;
            beforePrevious = previous;
            previous = current;
        }
        double power = (previous * previous) + (beforePrevious * beforePrevious) - (coefficient * previous * beforePrevious);
        return 2 * Math.Sqrt(Math.Max(0, power)) / n;
    }
}
