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
/// <para>
/// A decoder that stalls (a loaded machine deschedules it for a tenth of a second) leaves delay the window cannot see:
/// the ring drains through the stall (its fill was the cushion), the program plays silence once it is dry, and the
/// stalled sound then arrives at once and refills it, so every window's low water falls to the prebuffer while the fill
/// between stalls stands as long as the stall was (the program's sound ran 100 to 180 ms late with the decoder paused
/// 200 ms a second). So the ring also keeps two clocks: when each sample position would have arrived had the decoder
/// always been as prompt as its promptest write of the last seconds, and when each read was due on the mixer's steady
/// schedule. Their difference at the sample about to be read is how late the sound plays; above the prebuffer and two
/// blocks, the excess is skipped (never below the prebuffer's cushion), so a stall is concealed in the sound as in
/// the picture, which is taken newest-first, and the sound keeps its place against it. Both clocks are minima over a
/// window of a few seconds, so a source clock that drifts from ours moves them.
/// </para>
/// </remarks>
public sealed class AudioRing
{
    private readonly object _gate = new();
    private readonly float[] _samples;
    private readonly int _prebuffer;
    private readonly int _trimWindowReads;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    // Positions on the source's sample line (interleaved samples since the start): all written, all the mixer asked for.
    private long _written, _requested;
    // Minima of (now - position) for writes and for reads: when position 0 arrived and was due, at best, lately.
    private WindowedMinimum _arrival, _schedule;
    private int _start, _count;
    private bool _primed;
    private long _dropped, _trimmed;
    private int _reads, _lowWater = int.MaxValue;

    /// <param name="capacityFrames">Sample frames (pairs) kept at most.</param>
    /// <param name="prebufferFrames">Sample frames gathered before reading starts (again), and the standing fill kept.</param>
    /// <param name="trimWindowReads">Reads over which the low-water mark is watched before a standing surplus is skipped
    /// (94 blocks of 1024 frames: two seconds at 48 kHz).</param>
    /// <param name="time">The clock of arrivals and reads.</param>
    public AudioRing(int capacityFrames = ProgramAudio.SampleRate / 4, int prebufferFrames = 2 * ProgramAudio.BlockFrames, int trimWindowReads = 94,
        TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityFrames);
        ArgumentOutOfRangeException.ThrowIfNegative(prebufferFrames);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(prebufferFrames, capacityFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trimWindowReads);
        _samples = new float[capacityFrames * ProgramAudio.Channels];
        _prebuffer = prebufferFrames * ProgramAudio.Channels;
        _trimWindowReads = trimWindowReads;
        _time = time ?? TimeProvider.System;
        _epoch = _time.GetTimestamp();
        ResetClocks();
    }

    /// <summary>How many samples (interleaved) the window of the clocks' minima spans: two seconds.</summary>
    private const long ClockWindowSamples = 2L * ProgramAudio.SampleRate * ProgramAudio.Channels;

    public int Capacity => _samples.Length;

    /// <summary>Interleaved samples waiting.</summary>
    public int Count { get { lock (_gate) return _count; } }

    /// <summary>Samples dropped because the ring was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Samples skipped to bring a standing fill back to the prebuffer, or sound that arrived as late as a stall was
    /// long (sound that would have played late).</summary>
    public long Trimmed => Interlocked.Read(ref _trimmed);

    public void Write(ReadOnlySpan<float> samples)
    {
        int arriving = samples.Length;
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
            _written += arriving; // the dropped ones too: positions are the source's
            long now = Now();
            _arrival.Add(now, now - _written);
        }
    }

    /// <summary>Fills <paramref name="block"/> when that many samples wait (and the prebuffer had gathered); false
    /// (and nothing taken) otherwise.</summary>
    public bool TryRead(Span<float> block)
    {
        lock (_gate)
        {
            // The mixer's schedule starts with the first read that plays; the blocks before are the start, not a stall.
            bool started = _requested > 0;
            long due = 0;
            if (started)
            {
                long now = Now();
                _schedule.Add(now, now - _requested);
                due = _schedule.Value + _requested;
                _requested += block.Length;
            }
            if (!_primed && _count < _prebuffer + block.Length) return false;
            _primed = _count >= block.Length;
            if (!_primed)
            {
                ResetWindow();
                return false;
            }
            if (!started)
            {
                long now = Now();
                _schedule.Add(now, now);
                due = now;
                _requested = block.Length;
            }
            // How late the sample about to be read plays: when it is due against when it would have arrived.
            long late = due - (_arrival.Value + _written - _count);
            int first = Math.Min(block.Length, _samples.Length - _start);
            _samples.AsSpan(_start, first).CopyTo(block);
            _samples.AsSpan(0, block.Length - first).CopyTo(block[first..]);
            _start = (_start + block.Length) % _samples.Length;
            _count -= block.Length;
            long excess = late - _prebuffer - (2L * block.Length);
            if (excess > 0 && _count > _prebuffer)
            {
                // Whole stereo frames: every block, the prebuffer and the count are even.
                Skip((int)Math.Min(excess & ~1L, _count - _prebuffer));
            }
            _lowWater = Math.Min(_lowWater, _count);
            if (++_reads >= _trimWindowReads)
            {
                // Whole stereo frames: the prebuffer and every count are even.
                int surplus = _lowWater - _prebuffer;
                if (surplus > 0) Skip(surplus);
                ResetWindow();
            }
            return true;
        }
    }

    private void Skip(int samples)
    {
        _start = (_start + samples) % _samples.Length;
        _count -= samples;
        Interlocked.Add(ref _trimmed, samples);
    }

    /// <summary>Now, in interleaved samples since the ring was made (a year of them fits a long with room to spare).</summary>
    private long Now() =>
        (long)((Int128)(_time.GetTimestamp() - _epoch) * (ProgramAudio.SampleRate * ProgramAudio.Channels) / _time.TimestampFrequency);

    private void ResetClocks()
    {
        _written = 0;
        _requested = 0;
        _arrival = new WindowedMinimum(ClockWindowSamples);
        _schedule = new WindowedMinimum(ClockWindowSamples);
    }

    /// <summary>
    /// The least value seen over the last one to two windows of time: two buckets, the older dropped when the newer has
    /// spanned a window. Cheap, and it forgets an old best slowly enough that a stall (well under a window) never does.
    /// </summary>
    private struct WindowedMinimum(long window)
    {
        private long _bucketStart = long.MinValue, _current = long.MaxValue, _previous = long.MaxValue;

        public readonly long Value => Math.Min(_current, _previous);

        public void Add(long now, long value)
        {
            if (_bucketStart == long.MinValue || now - _bucketStart >= window)
            {
                _previous = _current;
                _current = value;
                _bucketStart = now;
            }
            else
            {
                _current = Math.Min(_current, value);
            }
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
            ResetClocks();
        }
    }
}
