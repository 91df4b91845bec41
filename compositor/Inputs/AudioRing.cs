using Broadcast.Compositor.Audio;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// An input's decoded 48 kHz stereo samples between its decoder and the program's mixer. Bounded: when the mixer
/// falls behind (or a decoder bursts through a cached group of pictures at start) the oldest samples are dropped, so
/// an input never adds more than <see cref="Capacity"/> of delay and never grows memory. Interleaved floats.
/// Reading starts once a prebuffer has gathered, and again after the ring ran dry: a decoder delivers in bursts,
/// and a block taken as soon as it exists would leave the next one short (a gap in the tone every few blocks).
/// </summary>
/// <remarks>
/// What the ring holds is delay the input's sound has and its picture has not (the picture is taken newest-first), so a
/// standing fill is lip-sync error. A decoder that starts on a channel's cached group of pictures, or catches up after
/// a stall, delivers a burst that fills the ring, and since the mixer then reads exactly as fast as the decoder writes,
/// that fill would stand for the rest of the program (bench/compose-latency.sh measured the sound 127 ms late). So the
/// ring watches its low-water mark: when for a whole window (about two seconds of reads) it never fell to the prebuffer,
/// the excess is skipped at once. Bursts come and go within a window; a standing surplus does not.
/// </remarks>
public sealed class AudioRing
{
    private readonly object _gate = new();
    private readonly float[] _samples;
    private readonly int _prebuffer;
    private readonly int _trimWindowReads;
    private int _start, _count;
    private bool _primed;
    private long _dropped, _trimmed;
    private int _reads, _lowWater = int.MaxValue;

    /// <param name="capacityFrames">Sample frames (pairs) kept at most.</param>
    /// <param name="prebufferFrames">Sample frames gathered before reading starts (again), and the standing fill kept.</param>
    /// <param name="trimWindowReads">Reads over which the low-water mark is watched before a standing surplus is skipped
    /// (94 blocks of 1024 frames: two seconds at 48 kHz).</param>
    public AudioRing(int capacityFrames = ProgramAudio.SampleRate / 4, int prebufferFrames = 2 * ProgramAudio.BlockFrames, int trimWindowReads = 94)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityFrames);
        ArgumentOutOfRangeException.ThrowIfNegative(prebufferFrames);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(prebufferFrames, capacityFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trimWindowReads);
        _samples = new float[capacityFrames * ProgramAudio.Channels];
        _prebuffer = prebufferFrames * ProgramAudio.Channels;
        _trimWindowReads = trimWindowReads;
    }

    public int Capacity => _samples.Length;

    /// <summary>Interleaved samples waiting.</summary>
    public int Count { get { lock (_gate) return _count; } }

    /// <summary>Samples dropped because the ring was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Samples skipped to bring a standing fill back to the prebuffer (sound that would have played late).</summary>
    public long Trimmed => Interlocked.Read(ref _trimmed);

    public void Write(ReadOnlySpan<float> samples)
    {
        if (samples.Length > _samples.Length)
        {
            Interlocked.Add(ref _dropped, samples.Length - _samples.Length);
            samples = samples[^_samples.Length..];
        }
        lock (_gate)
        {
            int overflow = _count + samples.Length - _samples.Length;
            if (overflow > 0)
            {
                // Keep whole stereo frames: the overflow is even because every write and read is.
                _start = (_start + overflow) % _samples.Length;
                _count -= overflow;
                Interlocked.Add(ref _dropped, overflow);
            }
            int end = (_start + _count) % _samples.Length;
            int first = Math.Min(samples.Length, _samples.Length - end);
            samples[..first].CopyTo(_samples.AsSpan(end));
            samples[first..].CopyTo(_samples);
            _count += samples.Length;
        }
    }

    /// <summary>Fills <paramref name="block"/> when that many samples wait (and the prebuffer had gathered); false (and nothing taken) otherwise.</summary>
    public bool TryRead(Span<float> block)
    {
        lock (_gate)
        {
            if (!_primed && _count < _prebuffer + block.Length) return false;
            _primed = _count >= block.Length;
            if (!_primed)
            {
                ResetWindow();
                return false;
            }
            int first = Math.Min(block.Length, _samples.Length - _start);
            _samples.AsSpan(_start, first).CopyTo(block);
            _samples.AsSpan(0, block.Length - first).CopyTo(block[first..]);
            _start = (_start + block.Length) % _samples.Length;
            _count -= block.Length;
            _lowWater = Math.Min(_lowWater, _count);
            if (++_reads >= _trimWindowReads)
            {
                // Whole stereo frames: the prebuffer and every count are even.
                int surplus = _lowWater - _prebuffer;
                if (surplus > 0)
                {
                    _start = (_start + surplus) % _samples.Length;
                    _count -= surplus;
                    Interlocked.Add(ref _trimmed, surplus);
                }
                ResetWindow();
            }
            return true;
        }
    }

    private void ResetWindow()
    {
        _reads = 0;
        _lowWater = int.MaxValue;
    }

    public void Clear()
    {
        lock (_gate)
        {
            _start = 0;
            _count = 0;
            _primed = false;
            ResetWindow();
        }
    }
}
