using System.Threading.Channels;

namespace Broadcast.Media;

/// <summary>
/// One consumer's view of a <see cref="LiveStream"/>: a bounded queue. When it is full the queue is emptied
/// and frames are skipped until the next video keyframe, so the reader resumes with something decodable.
/// </summary>
public sealed class LiveStreamReader : IDisposable
{
    private readonly LiveStream _stream;
    private readonly Channel<MediaFrame> _queue;
    private bool _waitingForKeyframe;
    private long _dropped;
    private int _disposed;

    internal LiveStreamReader(LiveStream stream, string name, int capacity, bool consumeOnWriterThread)
    {
        _stream = stream;
        Name = name;
        _queue = Channel.CreateBounded<MediaFrame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = consumeOnWriterThread,
        });
        _waitingForKeyframe = stream.Video is not null;
    }

    public string Name { get; }

    public LiveStream Stream => _stream;

    /// <summary>Frames this reader lost because it fell behind.</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>The in-band gap marker (<see cref="LiveStream.MarkGap"/>): never handed out by <see cref="ReadAsync"/> or
    /// <see cref="TryRead"/>.</summary>
    private static readonly MediaFrame GapMarker = MediaFrame.CreateMarker();

    /// <summary>Called by the hub under its lock; never blocks. A reader whose queue is full misses the gap (it resyncs anyway).</summary>
    internal void OfferGap() => _queue.Writer.TryWrite(GapMarker);

    /// <summary>Called by the hub under its lock; never blocks.</summary>
    internal void Offer(MediaFrame frame)
    {
        if (_waitingForKeyframe)
        {
            if (frame.Kind == MediaKind.Video && frame.IsKeyframe) _waitingForKeyframe = false;
            else if (_stream.Video is not null)
            {
                Interlocked.Increment(ref _dropped);
                _stream.Statistics.OnReaderDrop(1);
                return;
            }
            else _waitingForKeyframe = false;
        }
        frame.AddRef();
        if (_queue.Writer.TryWrite(frame)) return;
        frame.Release();
        // Full: this reader is too slow. Empty its queue and resync at the next keyframe.
        long dropped = 0;
        while (_queue.Reader.TryRead(out var stale))
        {
            if (ReferenceEquals(stale, GapMarker)) continue;
            stale.Release();
            dropped++;
        }
        bool resumeNow = _stream.Video is null || (frame.Kind == MediaKind.Video && frame.IsKeyframe);
        _waitingForKeyframe = !resumeNow;
        if (!resumeNow || !_queue.Writer.TryWrite(frame.AddRef()))
        {
            if (resumeNow) frame.Release();
            dropped++;
        }
        Interlocked.Add(ref _dropped, dropped);
        _stream.Statistics.OnReaderDrop(dropped);
    }

    internal void Complete() => _queue.Writer.TryComplete();

    /// <summary>Waits for the next frame; returns null when the stream has ended and the queue is drained.
    /// The caller owns one reference of the returned frame and must release it.</summary>
    public async ValueTask<MediaFrame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_queue.Reader.TryRead(out var frame) && !ReferenceEquals(frame, GapMarker)) return frame;
        }
        return null;
    }

    /// <summary>
    /// Like <see cref="ReadAsync"/>, and also reports where the producer stopped (its publisher dropped,
    /// <see cref="LiveStream.TryInterrupt"/>, or <see cref="LiveStream.MarkGap"/>), in order with the frames: every frame
    /// from before the gap comes first. The end of the stream is a result with neither a frame nor a gap.
    /// </summary>
    public async ValueTask<LiveStreamRead> ReadOrGapAsync(CancellationToken cancellationToken = default)
    {
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_queue.Reader.TryRead(out var frame))
                return ReferenceEquals(frame, GapMarker) ? new LiveStreamRead(null, IsGap: true) : new LiveStreamRead(frame, IsGap: false);
        }
        return default;
    }

    public bool TryRead(out MediaFrame? frame)
    {
        while (_queue.Reader.TryRead(out var f))
        {
            if (ReferenceEquals(f, GapMarker)) continue;
            frame = f;
            return true;
        }
        frame = null;
        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stream.Detach(this);
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var f))
            if (!ReferenceEquals(f, GapMarker)) f.Release();
    }
}
