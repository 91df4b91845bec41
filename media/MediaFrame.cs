using System.Buffers;

namespace Broadcast.Media;

/// <summary>
/// One access unit of one track: a video frame (length-prefixed NAL units, AVCC/HVCC framing, or AV1 OBUs)
/// or one audio frame (raw AAC without ADTS). The payload lives in a pooled buffer shared by every reader
/// of a <see cref="LiveStream"/>; each holder releases its reference exactly once.
/// </summary>
public sealed class MediaFrame
{
    private static readonly ConcurrentObjectPool<MediaFrame> Pool = new(1024);

    private byte[] _buffer = Array.Empty<byte>();
    private int _length;
    private int _references;

    private MediaFrame()
    {
    }

    /// <summary>A frame that carries nothing and is never pooled: an in-band marker in reader queues (see <see cref="LiveStreamReader"/>).</summary>
    internal static MediaFrame CreateMarker() => new() { _references = int.MaxValue / 2 };

    /// <summary>The track this frame belongs to; a new instance after a decoder-configuration change.</summary>
    public MediaTrack Track { get; private set; } = null!;

    public MediaKind Kind => Track.Kind;

    /// <summary>Decode timestamp in <see cref="MediaTrack.Timescale"/> ticks (unwrapped, 64-bit).</summary>
    public long Dts { get; private set; }

    /// <summary>Presentation minus decode time, in the track's timescale (the FLV composition time offset).</summary>
    public int CompositionOffset { get; private set; }

    public long Pts => Dts + CompositionOffset;

    /// <summary>A sync sample: IDR/CRA for video; every audio frame is one.</summary>
    public bool IsKeyframe { get; private set; }

    /// <summary>
    /// Which publish of the broadcast this frame came from: 0 for the first publisher, +1 each time a publisher
    /// reconnected within the grace period (<see cref="LiveStream.TryResume"/>). Readers that see it change know
    /// the media does not continue the previous frames (a discontinuity). Set by the hub.
    /// </summary>
    public int Epoch { get; internal set; }

    /// <summary>Moves the frame on the timeline (the hub's reconnect offset); only while one holder owns it.</summary>
    internal void Shift(long ticks) => Dts += ticks;

    public ReadOnlyMemory<byte> Data => new(_buffer, 0, _length);

    public int Length => _length;

    /// <summary>Rents a frame whose payload is a copy of <paramref name="payload"/>. The caller holds one reference.</summary>
    public static MediaFrame Rent(MediaTrack track, long dts, int compositionOffset, bool isKeyframe, ReadOnlySpan<byte> payload)
    {
        var frame = Rent(track, dts, compositionOffset, isKeyframe, payload.Length);
        payload.CopyTo(frame._buffer);
        return frame;
    }

    /// <summary>Rents a frame with an uninitialised payload of <paramref name="length"/> bytes,
    /// to be filled through <see cref="WritableData"/>.</summary>
    public static MediaFrame Rent(MediaTrack track, long dts, int compositionOffset, bool isKeyframe, int length)
    {
        ArgumentNullException.ThrowIfNull(track);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var frame = Pool.Rent() ?? new MediaFrame();
        frame.Track = track;
        frame.Dts = dts;
        frame.CompositionOffset = compositionOffset;
        frame.IsKeyframe = isKeyframe;
        frame.Epoch = 0;
        frame._buffer = FrameBufferPool.Rent(Math.Max(length, 1));
        frame._length = length;
        frame._references = 1;
        return frame;
    }

    /// <summary>The payload for the renting code to fill before the frame is shared.</summary>
    public Span<byte> WritableData => _buffer.AsSpan(0, _length);

    /// <summary>Adds a reference for another holder (a reader queue, a cache).</summary>
    public MediaFrame AddRef()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new InvalidOperationException("MediaFrame used after its last release.");
        return this;
    }

    /// <summary>Drops one reference; the last one returns the buffer to the pool.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left > 0) return;
        if (left < 0) throw new InvalidOperationException("MediaFrame released more often than referenced.");
        var buffer = _buffer;
        _buffer = Array.Empty<byte>();
        _length = 0;
        Track = null!;
        FrameBufferPool.Return(buffer);
        Pool.Return(this);
    }

    public override string ToString() =>
        $"{Kind} dts={Dts}/{Track?.Timescale} cto={CompositionOffset} key={IsKeyframe} bytes={_length}";
}

/// <summary>
/// A small bounded pool of reusable objects: a stack under a lock held for one push or pop, so a rent or a return costs
/// the same however full the pool is, and the object returned last (still in cache) is rented first. It replaced a
/// lock-free array scanned from its first slot on every rent and return: with the 1024 frames of twenty publishers in
/// flight, those scans were 4 % of the ingest profile (bench/RESULTS.md, "Frame pool, manifests and kept files").
/// </summary>
internal sealed class ConcurrentObjectPool<T> where T : class
{
    private readonly T?[] _items;
    private readonly Lock _lock = new();
    private int _count;

    public ConcurrentObjectPool(int size) => _items = new T?[size];

    /// <summary>Objects held for reuse now.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _count;
        }
    }

    /// <summary>The object returned last, or null when the pool is empty.</summary>
    public T? Rent()
    {
        lock (_lock)
        {
            if (_count == 0) return null;
            var item = _items[--_count];
            _items[_count] = null;
            return item;
        }
    }

    /// <summary>Keeps <paramref name="item"/> for reuse; a full pool leaves it to the GC.</summary>
    public void Return(T item)
    {
        lock (_lock)
        {
            if (_count < _items.Length) _items[_count++] = item;
        }
    }
}

/// <summary>
/// The pool behind every <see cref="MediaFrame"/> payload. <see cref="ArrayPool{T}.Shared"/> keeps at most 32 arrays
/// per size per core, while a live stream holds a whole group of pictures at once (the GOP cache and the open segment:
/// ~150 frames per 2 s publisher, most of them ~400-byte AAC frames in one size class). With 20 publishers almost every
/// rent missed and allocated, every return was dropped, and those arrays lived ~2 s: promoted, then collected by gen2,
/// which is where bench/ingest.sh's CPU in page clearing and its RSS went. This pool keeps up to a byte budget of
/// returned arrays in power-of-two classes; beyond it a returned array is left to the GC, so a spike of many streams
/// does not pin its memory forever.
/// </summary>
internal static class FrameBufferPool
{
    private const int MinShift = 8;   // 256 bytes
    private const int MaxShift = 24;  // 16 MiB; larger frames are allocated and dropped
    private const long RetainedBudget = 64L * 1024 * 1024;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<byte[]>[] Buckets = CreateBuckets();
    private static long _retained;

    /// <summary>Bytes held by the pool for reuse (for tests and diagnostics).</summary>
    internal static long RetainedBytes => Interlocked.Read(ref _retained);

    public static byte[] Rent(int length)
    {
        int bucket = BucketOf(length);
        if (bucket < 0) return new byte[length];
        if (Buckets[bucket].TryDequeue(out var array))
        {
            Interlocked.Add(ref _retained, -array.Length);
            return array;
        }
        return GC.AllocateUninitializedArray<byte>(1 << (bucket + MinShift));
    }

    public static void Return(byte[] array)
    {
        int bucket = BucketOf(array.Length);
        // Only arrays this pool made (exact class sizes) come back in.
        if (bucket < 0 || array.Length != 1 << (bucket + MinShift)) return;
        if (Interlocked.Add(ref _retained, array.Length) > RetainedBudget)
        {
            Interlocked.Add(ref _retained, -array.Length);
            return;
        }
        Buckets[bucket].Enqueue(array);
    }

    private static int BucketOf(int length)
    {
        if (length > 1 << MaxShift) return -1;
        int shift = length <= 1 << MinShift ? MinShift : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)length - 1);
        return shift - MinShift;
    }

    private static System.Collections.Concurrent.ConcurrentQueue<byte[]>[] CreateBuckets()
    {
        var buckets = new System.Collections.Concurrent.ConcurrentQueue<byte[]>[MaxShift - MinShift + 1];
        for (int i = 0; i < buckets.Length; i++) buckets[i] = new();
        return buckets;
    }
}
