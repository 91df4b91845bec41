using System.Numerics;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The memory all RTMP connections of this process hold together (both listeners, RTMP and RTMPS, share one), bounded
/// by <see cref="RtmpOptions.MemoryBudgetTotal"/>, and the pool their reassembly buffers come from. Each connection
/// charges what it holds through its own <see cref="RtmpConnectionMemory"/>; a charge that would pass the limit is
/// refused and the connection that asked is closed. Connections that have not published (strangers) together get at
/// most half of the total, so however many there are, publishers keep the other half.
/// </summary>
public sealed class RtmpMemoryBudget
{
    private long _held;
    private long _heldBeforePublish;
    private long _peak;

    public RtmpMemoryBudget(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
        // Free buffers kept for reuse: enough for steady publishers to stop allocating, small enough that what an attack
        // made the server allocate goes back to the GC instead of staying cached.
        Pool = new RtmpBufferPool(Math.Clamp(limit / 16, 1L << 20, 32L << 20));
    }

    /// <summary>Rtmp:MemoryBudgetTotal.</summary>
    public long Limit { get; }

    /// <summary>Bytes held now by all connections: reassembly buffers plus received and outgoing bytes not yet consumed.</summary>
    public long HeldBytes => Volatile.Read(ref _held);

    /// <summary>The part of <see cref="HeldBytes"/> held by connections that have not published.</summary>
    public long HeldBeforePublishBytes => Volatile.Read(ref _heldBeforePublish);

    /// <summary>What connections that have not published may hold together: half of <see cref="Limit"/>.</summary>
    public long BeforePublishLimit => Limit / 2;

    /// <summary>The most <see cref="HeldBytes"/> has been since start.</summary>
    public long PeakHeldBytes => Volatile.Read(ref _peak);

    /// <summary>Free buffers the pool keeps for reuse (bounded; not held by any connection).</summary>
    public long PooledBytes => Pool.RetainedBytes;

    internal RtmpBufferPool Pool { get; }

    internal enum Refusal
    {
        None,
        Total,
        BeforePublishShare,
    }

    internal Refusal TryReserve(long bytes, bool beforePublish)
    {
        if (beforePublish && !TryAdd(ref _heldBeforePublish, bytes, BeforePublishLimit)) return Refusal.BeforePublishShare;
        if (TryAdd(ref _held, bytes, Limit))
        {
            UpdatePeak(Volatile.Read(ref _held));
            return Refusal.None;
        }
        if (beforePublish) Interlocked.Add(ref _heldBeforePublish, -bytes);
        return Refusal.Total;
    }

    internal void Release(long bytes, bool beforePublish)
    {
        if (beforePublish) Interlocked.Add(ref _heldBeforePublish, -bytes);
        Interlocked.Add(ref _held, -bytes);
    }

    /// <summary>A connection's publish was accepted: what it holds no longer counts as a stranger's.</summary>
    internal void Promote(long bytes) => Interlocked.Add(ref _heldBeforePublish, -bytes);

    private static bool TryAdd(ref long slot, long bytes, long limit)
    {
        long current = Volatile.Read(ref slot);
        while (true)
        {
            long next = current + bytes;
            if (next > limit) return false;
            long seen = Interlocked.CompareExchange(ref slot, next, current);
            if (seen == current) return true;
            current = seen;
        }
    }

    private void UpdatePeak(long held)
    {
        long peak = Volatile.Read(ref _peak);
        while (held > peak)
        {
            long before = Interlocked.CompareExchange(ref _peak, held, peak);
            if (before == peak) break;
            peak = before;
        }
    }
}

/// <summary>
/// Power-of-two byte arrays from 256 B up, shared by every RTMP connection. Unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>
/// (which caches up to 32 arrays of each size per core, for good), a returned array is kept only while the free arrays
/// together stay under a cap; beyond it the array is left to the GC.
/// </summary>
internal sealed class RtmpBufferPool(long maxRetainedBytes)
{
    private const int MinShift = 8;
    private const int MaxShift = 30;

    private readonly Lock _gate = new();
    private readonly Stack<byte[]>?[] _free = new Stack<byte[]>?[MaxShift - MinShift + 1];
    private long _retained;

    public long MaxRetainedBytes => maxRetainedBytes;

    public long RetainedBytes
    {
        get
        {
            lock (_gate) return _retained;
        }
    }

    /// <summary>The length of the array <see cref="Rent"/> returns for <paramref name="minimumLength"/>.</summary>
    public static int SizeFor(int minimumLength) =>
        minimumLength <= 1 << MinShift ? 1 << MinShift : checked((int)BitOperations.RoundUpToPowerOf2((uint)minimumLength));

    public byte[] Rent(int minimumLength)
    {
        int size = SizeFor(minimumLength);
        int bucket = BitOperations.Log2((uint)size) - MinShift;
        lock (_gate)
        {
            if (_free[bucket] is { Count: > 0 } stack)
            {
                _retained -= size;
                return stack.Pop();
            }
        }
        return GC.AllocateUninitializedArray<byte>(size);
    }

    public void Return(byte[] array)
    {
        int size = array.Length;
        if (size < 1 << MinShift || !BitOperations.IsPow2(size)) return; // not ours
        int bucket = BitOperations.Log2((uint)size) - MinShift;
        lock (_gate)
        {
            if (_retained + size > maxRetainedBytes) return; // dropped: the GC takes it
            (_free[bucket] ??= new Stack<byte[]>()).Push(array);
            _retained += size;
        }
    }
}

/// <summary>
/// What one RTMP connection holds, charged against its own limit (<see cref="RtmpOptions.MemoryBudgetBeforePublish"/>
/// until <see cref="MarkPublished"/>, <see cref="RtmpOptions.MemoryBudgetAfterPublish"/> after) and the process-wide
/// <see cref="RtmpMemoryBudget"/> (its strangers' half until then): the chunk reader's reassembly buffers (as the reader's buffer source: the array
/// lengths, not the bytes used), the received bytes waiting in the input pipe, and replies not yet flushed. A refused
/// charge leaves <see cref="Refusal"/> saying which limit and by how much; the connection then closes.
/// <see cref="Dispose"/> gives back whatever is still charged.
/// </summary>
internal sealed class RtmpConnectionMemory(RtmpMemoryBudget budget, long limit) : IChunkBufferSource, IDisposable
{
    private long _held;
    private long _input;
    private long _output;
    private bool _disposed;
    private bool _published;

    /// <summary>This connection's limit now; raised once a publish is accepted.</summary>
    public long Limit { get; private set; } = limit;

    /// <summary>The configuration key of <see cref="Limit"/>, for the log line.</summary>
    public string LimitKey { get; private set; } = "Rtmp:MemoryBudgetBeforePublish";

    /// <summary>The publish was accepted: the larger limit, and out of the strangers' share of the total.</summary>
    public void MarkPublished(long limit)
    {
        if (_published) return;
        _published = true;
        Limit = limit;
        LimitKey = "Rtmp:MemoryBudgetAfterPublish";
        if (!_disposed) budget.Promote(Volatile.Read(ref _held));
    }

    public long HeldBytes => Volatile.Read(ref _held);

    /// <summary>Why the last charge was refused.</summary>
    public string? Refusal { get; private set; }

    public byte[]? TryRent(int minimumLength)
    {
        int size = RtmpBufferPool.SizeFor(minimumLength);
        if (!TryCharge(size, "a reassembly buffer")) return null;
        return budget.Pool.Rent(size);
    }

    public void Return(byte[] buffer)
    {
        Release(buffer.Length);
        budget.Pool.Return(buffer);
    }

    /// <summary>Received bytes in the input pipe not consumed yet (the pipe's own pause threshold bounds them too).</summary>
    public bool TrySetInput(long bytes) => TrySet(ref _input, bytes, "received bytes waiting");

    /// <summary>Replies buffered and not flushed yet.</summary>
    public bool TrySetOutput(long bytes) => TrySet(ref _output, bytes, "replies waiting to be sent");

    private bool TrySet(ref long slot, long bytes, string what)
    {
        long delta = bytes - slot;
        if (delta > 0 && !TryCharge(delta, what)) return false;
        if (delta < 0) Release(-delta);
        slot = bytes;
        return true;
    }

    private bool TryCharge(long bytes, string what)
    {
        long held = Volatile.Read(ref _held);
        if (held + bytes > Limit)
        {
            Refusal = $"{what} of {bytes} bytes would bring this connection to {held + bytes} bytes, above its budget of {Limit} bytes ({LimitKey})";
            return false;
        }
        switch (budget.TryReserve(bytes, !_published))
        {
            case RtmpMemoryBudget.Refusal.Total:
                Refusal = $"{what} of {bytes} bytes would bring all RTMP connections to {budget.HeldBytes + bytes} bytes, " +
                    $"above Rtmp:MemoryBudgetTotal ({budget.Limit} bytes)";
                return false;
            case RtmpMemoryBudget.Refusal.BeforePublishShare:
                Refusal = $"{what} of {bytes} bytes would bring connections that have not published to {budget.HeldBeforePublishBytes + bytes} " +
                    $"bytes, above their share, half of Rtmp:MemoryBudgetTotal ({budget.BeforePublishLimit} bytes)";
                return false;
        }
        Interlocked.Add(ref _held, bytes);
        return true;
    }

    private void Release(long bytes)
    {
        if (Volatile.Read(ref _disposed)) return; // already given back in full
        Interlocked.Add(ref _held, -bytes);
        budget.Release(bytes, !_published);
    }

    /// <summary>Gives back what is still charged (the pipe and reply bytes; the reader returns its buffers itself first).</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed)) return;
        Volatile.Write(ref _disposed, true);
        long held = Interlocked.Exchange(ref _held, 0);
        _input = 0;
        _output = 0;
        if (held != 0) budget.Release(held, !_published);
    }
}
