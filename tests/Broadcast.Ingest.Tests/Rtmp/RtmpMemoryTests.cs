using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>Unit level: the chunk reader's buffer lifetime and header-stage limits, the buffer pool, and the budget accounting.</summary>
public class RtmpMemoryTests
{
    /// <summary>A buffer source that counts what is out, with an optional limit (a budget).</summary>
    private sealed class CountingSource(long limit = long.MaxValue) : IChunkBufferSource
    {
        public long Out { get; private set; }

        public int Rented { get; private set; }

        public byte[]? TryRent(int minimumLength)
        {
            if (Out + minimumLength > limit) return null;
            var array = new byte[minimumLength];
            Out += array.Length;
            Rented++;
            return array;
        }

        public void Return(byte[] buffer) => Out -= buffer.Length;
    }

    private static ChunkReadStatus Feed(ChunkStreamReader reader, byte[] bytes, List<RtmpMessage>? messages = null)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        ChunkReadStatus status;
        while ((status = reader.TryRead(ref sequence, out var message)) == ChunkReadStatus.Message) messages?.Add(message);
        return status;
    }

    private static byte[] Concat(params object[] parts) =>
        parts.SelectMany(p => p switch { string hex => Hex.Bytes(hex), byte[] b => b, _ => throw new ArgumentException() }).ToArray();

    [Fact]
    public void A_completed_message_returns_its_buffer_at_the_next_call_and_no_chunk_stream_keeps_one()
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source });
        // Set Chunk Size 4096, then a 3000-byte message on each of chunk streams 3..12: the reported pattern in small.
        var bytes = new List<byte>(Hex.Bytes("02 000000 000004 01 00000000 00001000"));
        for (int csid = 3; csid <= 12; csid++) bytes.AddRange(Concat($"{csid:X2} 000000 000BB8 07 00000000", new byte[3000]));
        // When a message is returned its buffer is the only one lent (its payload is valid until the next call).
        var sequence = new ReadOnlySequence<byte>([.. bytes]);
        int messages = 0;
        while (reader.TryRead(ref sequence, out var message) == ChunkReadStatus.Message)
        {
            messages++;
            Assert.Equal(message.TypeId == 1 ? 4 : 3000, source.Out);
            Assert.Equal(source.Out, reader.ReservedBytes);
        }
        Assert.Equal(11, messages);
        // The call that found no more data gave the last one back.
        Assert.Equal(0, source.Out);
        Assert.Equal(0, reader.ReservedBytes);
        Assert.Equal(11, reader.OpenChunkStreams);
    }

    [Fact]
    public void Dispose_returns_partial_buffers()
    {
        var source = new CountingSource();
        var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source });
        Assert.Equal(ChunkReadStatus.NeedMoreData, Feed(reader, Concat("03 000000 001000 14 00000000", new byte[100], "04 000000 001000 14 00000000")));
        Assert.True(source.Out > 0);
        reader.Dispose();
        Assert.Equal(0, source.Out);
    }

    [Fact]
    public void Abort_returns_the_aborted_messages_buffer()
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source });
        Assert.Equal(ChunkReadStatus.NeedMoreData, Feed(reader, Concat("04 000000 000400 09 01000000", new byte[128])));
        Assert.Equal(256, source.Out);
        Assert.Equal(1, reader.PartialMessages);
        Assert.Equal(ChunkReadStatus.NeedMoreData, Feed(reader, Hex.Bytes("02 000000 000004 02 00000000 00000004")));
        Feed(reader, []);
        Assert.Equal(0, source.Out);
        Assert.Equal(0, reader.PartialMessages);
        Assert.Equal(0, reader.BufferedBytes);
        Assert.False(reader.HasPartialMessage);
    }

    [Fact]
    public void Partial_messages_beyond_the_limit_are_refused_at_the_header()
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source, MaxPartialMessages = 2 });
        // Two messages left partial, a single-chunk ping between them (complete at once: not partial), then a third.
        var bytes = Concat("03 000000 000100 14 00000000", new byte[128], "04 000000 000100 14 00000000", new byte[128],
            "02 000000 000006 04 00000000 0006 00000001", "05 000000 000100 14 00000000");
        Assert.Equal(ChunkReadStatus.Error, Feed(reader, bytes));
        Assert.Equal(ChunkReadError.TooManyPartialMessages, reader.Error);
        Assert.Equal(2, reader.PartialMessages);
        Assert.Equal(2 * 256, source.Out); // the third message got no buffer

        // A completed message frees its slot: three messages in a row on two streams are fine.
        using var sequential = new ChunkStreamReader(new ChunkStreamReaderOptions { MaxPartialMessages = 1 });
        var messages = new List<RtmpMessage>();
        Assert.Equal(ChunkReadStatus.NeedMoreData, Feed(sequential, Hex.Bytes("03 000000 000001 14 00000000 AA 04 000000 000001 14 00000000 BB 03 000000 000001 14 00000000 CC"), messages));
        Assert.Equal(3, messages.Count);
    }

    [Fact]
    public void Declared_length_above_the_buffered_limit_is_refused_before_a_buffer_is_rented()
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source, MaxMessageSize = 8 * 1024 * 1024, MaxBufferedBytes = 256 * 1024 });
        Assert.Equal(ChunkReadStatus.Error, Feed(reader, Concat("03 000000 7FFFFF 14 00000000", new byte[4000])));
        Assert.Equal(ChunkReadError.TooMuchBufferedData, reader.Error);
        Assert.Equal(0x7FFFFF, reader.RejectedLength);
        Assert.Equal(0, source.Rented);
    }

    [Theory]
    [InlineData(RtmpMessageType.Video)]
    [InlineData(RtmpMessageType.DataAmf0)]
    [InlineData(RtmpMessageType.Aggregate)]
    [InlineData(7)]
    public void A_type_the_filter_refuses_fails_at_the_header(byte type)
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source })
        {
            MessageTypeFilter = t => t is RtmpMessageType.SetChunkSize or RtmpMessageType.CommandAmf0,
        };
        Assert.Equal(ChunkReadStatus.Error, Feed(reader, Concat($"04 000000 000100 {type:X2} 01000000", new byte[256])));
        Assert.Equal(ChunkReadError.MessageTypeNotAllowed, reader.Error);
        Assert.Equal(type, reader.RejectedTypeId);
        Assert.Equal(0, source.Rented);
    }

    [Theory]
    [InlineData(RtmpMessageType.Acknowledgement, 65)]
    [InlineData(RtmpMessageType.UserControl, 1024)]
    [InlineData(RtmpMessageType.SetPeerBandwidth, 0x10000)]
    public void Control_messages_longer_than_any_real_one_are_refused(byte type, int length)
    {
        using var reader = new ChunkStreamReader();
        Assert.Equal(ChunkReadStatus.Error, Feed(reader, Hex.Bytes($"02 000000 {length:X6} {type:X2} 00000000")));
        Assert.Equal(ChunkReadError.ControlMessageTooLarge, reader.Error);
    }

    [Fact]
    public void A_refused_buffer_is_an_error_not_an_exception()
    {
        var source = new CountingSource(limit: 1024);
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source });
        Assert.Equal(ChunkReadStatus.Error, Feed(reader, Concat("02 000000 000004 01 00000000 00001000", "03 000000 001000 07 00000000", new byte[4096])));
        Assert.Equal(ChunkReadError.BufferRefused, reader.Error);
        Assert.True(source.Out <= 1024);
    }

    [Fact]
    public void Declared_allocation_rents_once_at_the_declared_length()
    {
        var source = new CountingSource();
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { Buffers = source }) { AllocateDeclaredLength = true };
        var payload = new byte[3000];
        new Random(3).NextBytes(payload);
        var bytes = new List<byte>(Hex.Bytes("04 000000 000BB8 09 01000000"));
        for (int offset = 0; offset < payload.Length; offset += 128)
        {
            if (offset > 0) bytes.Add(0xC4);
            bytes.AddRange(payload.AsSpan(offset, Math.Min(128, payload.Length - offset)).ToArray());
        }
        var messages = new List<RtmpMessage>();
        Feed(reader, [.. bytes], messages);
        var message = Assert.Single(messages);
        Assert.Equal(payload, message.Payload.ToArray());
        Assert.Equal(1, source.Rented);
    }

    [Fact]
    public void Pool_keeps_free_arrays_up_to_its_cap_and_leaves_the_rest_to_the_GC()
    {
        var pool = new RtmpBufferPool(maxRetainedBytes: 1 << 20);
        Assert.Equal(256, RtmpBufferPool.SizeFor(1));
        Assert.Equal(4096, RtmpBufferPool.SizeFor(4096));
        Assert.Equal(8192, RtmpBufferPool.SizeFor(4097));
        var arrays = Enumerable.Range(0, 8).Select(_ => pool.Rent(300 * 1024)).ToList();
        Assert.All(arrays, a => Assert.Equal(512 * 1024, a.Length));
        foreach (var array in arrays) pool.Return(array);
        Assert.Equal(1 << 20, pool.RetainedBytes); // two kept, six dropped
        var again = pool.Rent(400 * 1024);
        Assert.Contains(arrays, a => ReferenceEquals(a, again)); // reused
        Assert.Equal(512 * 1024, pool.RetainedBytes);
    }

    [Fact]
    public void Connection_memory_charges_its_own_limit_and_the_total_and_gives_everything_back()
    {
        var total = new RtmpMemoryBudget(2 << 20);
        var a = new RtmpConnectionMemory(total, 512 * 1024);
        var b = new RtmpConnectionMemory(total, 1 << 20);
        var c = new RtmpConnectionMemory(total, 1 << 20);
        var big = c.TryRent(1 << 20);
        Assert.NotNull(big);
        c.MarkPublished(2 << 20); // a publisher: its megabyte leaves the strangers' share
        Assert.Equal(0, total.HeldBeforePublishBytes);

        var first = a.TryRent(200 * 1024);
        Assert.NotNull(first);
        Assert.Equal(256 * 1024, a.HeldBytes);
        Assert.True(a.TrySetInput(100 * 1024));
        Assert.Null(a.TryRent(200 * 1024)); // 356 KiB + 256 KiB > 512 KiB
        Assert.Contains("Rtmp:MemoryBudgetBeforePublish", a.Refusal);

        var second = b.TryRent(500 * 1024);
        Assert.NotNull(second);
        Assert.Equal((1 << 20) + 356 * 1024 + 512 * 1024, total.HeldBytes);
        Assert.Equal(356 * 1024 + 512 * 1024, total.HeldBeforePublishBytes);
        Assert.Null(b.TryRent(200 * 1024)); // strangers together may hold half the total: 1 MiB
        Assert.Contains("half of Rtmp:MemoryBudgetTotal", b.Refusal);
        Assert.NotNull(c.TryRent(100 * 1024)); // the publisher still has room
        Assert.Null(c.TryRent(200 * 1024)); // but not beyond the total
        Assert.Contains("above Rtmp:MemoryBudgetTotal", c.Refusal);
        Assert.True(total.PeakHeldBytes <= total.Limit);
        c.Dispose();

        a.Return(first!);
        Assert.True(a.TrySetInput(0));
        Assert.Equal(0, a.HeldBytes);
        b.Dispose();
        Assert.Equal(0, total.HeldBytes);
        b.Return(second!); // after Dispose: back to the pool, nothing charged twice
        Assert.Equal(0, total.HeldBytes);
        Assert.True(total.PooledBytes <= total.Pool.MaxRetainedBytes);
    }
}
