namespace Broadcast.Compositor.Audio;

/// <summary>
/// A level meter's reading: the highest sample magnitude of the last <see cref="WindowBlocks"/> mixer blocks (about
/// 300 ms at 48 kHz in 1024-frame blocks, the integration a broadcast peak meter shows), in dB below full scale.
/// Fed by the mixer on the program loop (<see cref="Add"/>, <see cref="AddSilence"/>), read from any thread
/// (<see cref="Decibels"/>): a sample peak, not a true-peak (oversampled) reading, which the limiter takes care of.
/// </summary>
public sealed class PeakMeter
{
    public const int WindowBlocks = 14;

    /// <summary>Below this a reading is silence (null): 16-bit dither is about -96 dBFS.</summary>
    public const double FloorDecibels = -90;

    private readonly float[] _peaks = new float[WindowBlocks];
    private int _next;
    private float _reading;

    /// <summary>The peak of the window in dBFS, or null for silence (nothing above <see cref="FloorDecibels"/>).</summary>
    public double? Decibels
    {
        get
        {
            float peak = Volatile.Read(ref _reading);
            double db = peak > 0 ? 20 * Math.Log10(peak) : double.NegativeInfinity;
            return db < FloorDecibels ? null : Math.Round(db, 1);
        }
    }

    /// <summary>One block of interleaved samples.</summary>
    public void Add(ReadOnlySpan<float> block)
    {
        float peak = 0;
        foreach (float sample in block)
        {
            float magnitude = Math.Abs(sample);
            if (magnitude > peak) peak = magnitude;
        }
        Push(peak);
    }

    /// <summary>A block in which the input brought nothing.</summary>
    public void AddSilence() => Push(0);

    private void Push(float peak)
    {
        _peaks[_next] = float.IsFinite(peak) ? peak : 0;
        _next = (_next + 1) % WindowBlocks;
        float max = 0;
        foreach (float p in _peaks) max = Math.Max(max, p);
        Volatile.Write(ref _reading, max);
    }
}
