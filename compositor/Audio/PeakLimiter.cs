namespace Broadcast.Compositor.Audio;

/// <summary>
/// A look-ahead peak limiter for the program bus: no sample leaves above the ceiling. The signal is delayed by the
/// look-ahead; the gain each sample needs (ceiling ÷ its peak over both channels, or 1) goes through a minimum held
/// over look-ahead + 1 samples, an exponential release towards that minimum, and a moving average over the
/// look-ahead. Every value in the average's window holds a minimum that covers the sample leaving now, so the
/// averaged gain is never above what that sample needs: the attack is a straight ramp spread over the look-ahead (no
/// distortion from an instant gain step) and still in time. A final clamp at the ceiling only absorbs float rounding.
/// </summary>
public sealed class PeakLimiter
{
    private readonly int _lookAhead;
    private readonly float _ceiling;
    private readonly double _releaseCoefficient;
    private readonly float[] _delay;       // look-ahead stereo frames, a ring
    private readonly float[] _average;     // the released gains in the moving-average window, a ring
    private readonly long[] _holdIndex;    // monotonic queue for the running minimum: sample numbers …
    private readonly float[] _holdGain;    // … and their needed gains, increasing from head to tail
    private int _holdHead, _holdCount;
    private long _sample;
    private double _averageSum;
    private double _released = 1;

    /// <param name="ceilingDecibels">The highest sample level let through, in dBFS.</param>
    /// <param name="lookAheadFrames">The delay, and the attack's length: 5 ms at 48 kHz by default.</param>
    /// <param name="releaseMilliseconds">Time constant of the gain's return once peaks have passed.</param>
    public PeakLimiter(double ceilingDecibels = -1, int lookAheadFrames = 240, double releaseMilliseconds = 150)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ceilingDecibels, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(lookAheadFrames, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(releaseMilliseconds);
        _lookAhead = lookAheadFrames;
        _ceiling = (float)ProgramAudio.Amplitude(ceilingDecibels);
        _releaseCoefficient = 1 - Math.Exp(-1000.0 / (releaseMilliseconds * ProgramAudio.SampleRate));
        _delay = new float[lookAheadFrames * ProgramAudio.Channels];
        _average = new float[lookAheadFrames];
        Array.Fill(_average, 1f);
        _averageSum = lookAheadFrames;
        _holdIndex = new long[lookAheadFrames + 2];
        _holdGain = new float[lookAheadFrames + 2];
    }

    /// <summary>How many frames the output lags the input.</summary>
    public int LatencyFrames => _lookAhead;

    public float Ceiling => _ceiling;

    /// <summary>Limits interleaved stereo <paramref name="samples"/> in place (delayed by <see cref="LatencyFrames"/>).</summary>
    public void Process(Span<float> samples)
    {
        if (samples.Length % ProgramAudio.Channels != 0) throw new ArgumentException("stereo samples come in pairs", nameof(samples));
        for (int i = 0; i < samples.Length; i += 2)
        {
            float left = samples[i], right = samples[i + 1];
            float peak = Math.Max(Math.Abs(left), Math.Abs(right));
            float needed = peak > _ceiling ? _ceiling / peak : 1f;
            float held = Hold(needed);
            _released = held < _released ? held : _released + ((held - _released) * _releaseCoefficient);
            int slot = (int)(_sample % _lookAhead);
            _averageSum += _released - _average[slot];
            _average[slot] = (float)_released;
            float gain = (float)(_averageSum / _lookAhead);

            int delayed = slot * 2;
            float outLeft = _delay[delayed] * gain, outRight = _delay[delayed + 1] * gain;
            _delay[delayed] = left;
            _delay[delayed + 1] = right;
            samples[i] = Math.Clamp(outLeft, -_ceiling, _ceiling);
            samples[i + 1] = Math.Clamp(outRight, -_ceiling, _ceiling);
            _sample++;
        }
    }

    /// <summary>The least gain needed over the last look-ahead + 1 samples, this one included.</summary>
    private float Hold(float needed)
    {
        int capacity = _holdIndex.Length;
        while (_holdCount > 0 && _holdGain[(_holdHead + _holdCount - 1) % capacity] >= needed) _holdCount--;
        int tail = (_holdHead + _holdCount) % capacity;
        _holdIndex[tail] = _sample;
        _holdGain[tail] = needed;
        _holdCount++;
        while (_holdIndex[_holdHead] < _sample - _lookAhead)
        {
            _holdHead = (_holdHead + 1) % capacity;
            _holdCount--;
        }

        return _holdGain[_holdHead];
    }
}
