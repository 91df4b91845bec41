namespace Broadcast.Media;

/// <summary>
/// Ingest counters of one live stream, updated by the publisher's thread and read by the dashboard
/// and /metrics. Rates are measured over a sliding window of whole wall-clock seconds.
/// </summary>
public sealed class StreamStatistics
{
    private const int WindowSeconds = 5;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly long[] _bytesPerSecond = new long[WindowSeconds + 1];
    private readonly int[] _videoFramesPerSecond = new int[WindowSeconds + 1];
    private long _currentSecond = -1;

    private long _bytes;
    private long _videoFrames;
    private long _audioFrames;
    private long _keyframes;
    private long _droppedByReaders;
    private long _lastKeyframeDts = long.MinValue;
    private long _keyframeIntervalTicks;
    private int _keyframeTimescale = Timescales.Video;
    private long _lastVideoDts = long.MinValue;
    private long _lastAudioDts = long.MinValue;

    public StreamStatistics(TimeProvider time) => _time = time;

    public long Bytes => Interlocked.Read(ref _bytes);

    public long VideoFrames => Interlocked.Read(ref _videoFrames);

    public long AudioFrames => Interlocked.Read(ref _audioFrames);

    public long Keyframes => Interlocked.Read(ref _keyframes);

    /// <summary>Frames lost by slow readers (each reader's loss counted).</summary>
    public long FramesDroppedByReaders => Interlocked.Read(ref _droppedByReaders);

    /// <summary>Media time between the last two video keyframes, in milliseconds; 0 before the second keyframe.</summary>
    public long KeyframeIntervalMs
    {
        get { lock (_gate) return _keyframeIntervalTicks == 0 ? 0 : Timescales.Rescale(_keyframeIntervalTicks, _keyframeTimescale, 1000); }
    }

    /// <summary>Last video decode time in milliseconds of media time.</summary>
    public long LastVideoDtsMs { get { lock (_gate) return _lastVideoDts == long.MinValue ? 0 : Timescales.Rescale(_lastVideoDts, Timescales.Video,
        1000); } }

    /// <summary>Payload bitrate in bits per second over the last complete seconds.</summary>
    public long BitsPerSecond
    {
        get
        {
            lock (_gate)
            {
                Advance(NowSecond());
                long sum = 0;
                for (int i = 1; i <= WindowSeconds; i++) sum += _bytesPerSecond[Slot(_currentSecond - i)];
                return sum * 8 / WindowSeconds;
            }
        }
    }

    /// <summary>Video frames per second received over the last complete seconds, in thousandths (29970 = 29.97).</summary>
    public long VideoFpsMilli
    {
        get
        {
            lock (_gate)
            {
                Advance(NowSecond());
                long sum = 0;
                for (int i = 1; i <= WindowSeconds; i++) sum += _videoFramesPerSecond[Slot(_currentSecond - i)];
                return sum * 1000 / WindowSeconds;
            }
        }
    }

    internal void OnFrame(MediaFrame frame)
    {
        Interlocked.Add(ref _bytes, frame.Length);
        lock (_gate)
        {
            Advance(NowSecond());
            int slot = Slot(_currentSecond);
            _bytesPerSecond[slot] += frame.Length;
            if (frame.Kind == MediaKind.Video)
            {
                _videoFramesPerSecond[slot]++;
                _videoFrames++;
                _lastVideoDts = frame.Dts;
                if (frame.IsKeyframe)
                {
                    _keyframes++;
                    if (_lastKeyframeDts != long.MinValue && frame.Dts > _lastKeyframeDts)
                    {
                        _keyframeIntervalTicks = frame.Dts - _lastKeyframeDts;
                        _keyframeTimescale = frame.Track.Timescale;
                    }
                    _lastKeyframeDts = frame.Dts;
                }
            }
            else
            {
                _audioFrames++;
                _lastAudioDts = frame.Dts;
            }
        }
    }

    internal void OnReaderDrop(long frames) => Interlocked.Add(ref _droppedByReaders, frames);

    private long NowSecond() => _time.GetUtcNow().ToUnixTimeSeconds();

    private int Slot(long second) => (int)(((second % _bytesPerSecond.Length) + _bytesPerSecond.Length) % _bytesPerSecond.Length);

    private void Advance(long now)
    {
        if (_currentSecond < 0)
        {
            _currentSecond = now;
            return;
        }
        if (now <= _currentSecond) return;
        long steps = Math.Min(now - _currentSecond, _bytesPerSecond.Length);
        for (long i = 1; i <= steps; i++)
        {
            int slot = Slot(_currentSecond + i);
            _bytesPerSecond[slot] = 0;
            _videoFramesPerSecond[slot] = 0;
        }
        _currentSecond = now;
    }
}
