using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

public class ChunkHeaderTests
{
    public static TheoryData<string, ChunkHeader, bool, string> Cases => new()
    {
        { "type 0, csid 3", new(ChunkFormat.Full, 3, 1000, 32, 20, 0, false), false, "03 0003E8 000020 14 00000000" },
        { "type 0, stream id little-endian", new(ChunkFormat.Full, 4, 0, 5, 9, 1, false), false, "04 000000 000005 09 01000000" },
        { "type 1", new(ChunkFormat.SameStream, 4, 33, 256, 9, 0, false), false, "44 000021 000100 09" },
        { "type 2", new(ChunkFormat.TimestampOnly, 6, 23, 0, 0, 0, false), false, "86 000017" },
        { "type 3", new(ChunkFormat.Continuation, 4, 0, 0, 0, 0, false), false, "C4" },
        { "2-byte basic header, csid 64", new(ChunkFormat.Continuation, 64, 0, 0, 0, 0, false), false, "C0 00" },
        { "2-byte basic header, csid 319", new(ChunkFormat.Continuation, 319, 0, 0, 0, 0, false), false, "C0 FF" },
        { "3-byte basic header, csid 320", new(ChunkFormat.Continuation, 320, 0, 0, 0, 0, false), false, "C1 00 01" },
        { "3-byte basic header, csid 65599", new(ChunkFormat.TimestampOnly, 65599, 5, 0, 0, 0, false), false, "81 FF FF 000005" },
        { "type 0, extended timestamp", new(ChunkFormat.Full, 3, 0x01000000, 4, 20, 0, true), false, "03 FFFFFF 000004 14 00000000 01000000" },
        { "type 2, delta exactly 0xFFFFFF is extended", new(ChunkFormat.TimestampOnly, 3, 0xFFFFFF, 0, 0, 0, true), false, "83 FFFFFF 00FFFFFF" },
        { "type 3 repeating the extended timestamp", new(ChunkFormat.Continuation, 3, 0x01000000, 0, 0, 0, true), true, "C3 01000000" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, ChunkHeader header, bool type3Extended, string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.True(ChunkHeader.TryRead(bytes, type3Extended, out var read, out int consumed), name);
        Assert.Equal(header, read);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, ChunkHeader header, bool type3Extended, string hex)
    {
        _ = type3Extended;
        Assert.True(Hex.Bytes(hex).AsSpan().SequenceEqual(Hex.Written(header.Write)), name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_truncation_needs_more_data(string name, ChunkHeader header, bool type3Extended, string hex)
    {
        _ = header;
        var bytes = Hex.Bytes(hex);
        for (int n = 0; n < bytes.Length; n++)
            Assert.False(ChunkHeader.TryRead(bytes.AsSpan(0, n), type3Extended, out _, out _), $"{name} at {n}");
    }
}

public class ChunkStreamReaderTests
{
    private static byte[] Payload(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Concat(params object[] parts) =>
        parts.SelectMany(p => p switch { string hex => Hex.Bytes(hex), byte[] b => b, _ => throw new ArgumentException() }).ToArray();

    private sealed record Received(int Csid, byte Type, uint Timestamp, uint StreamId, byte[] Payload);

    /// <summary>Feeds bytes in slices of <paramref name="step"/> and collects the messages (payload copied).</summary>
    private static (List<Received> Messages, ChunkReadStatus Last, ChunkStreamReader Reader) ReadAll(byte[] bytes, int step = int.MaxValue, ChunkStreamReaderOptions? options = null)
    {
        var reader = new ChunkStreamReader(options);
        var messages = new List<Received>();
        var status = ChunkReadStatus.NeedMoreData;
        var pending = Array.Empty<byte>();
        for (int offset = 0; offset < bytes.Length && status != ChunkReadStatus.Error; offset += step)
        {
            pending = [.. pending, .. bytes.AsSpan(offset, Math.Min(step, bytes.Length - offset))];
            var sequence = new ReadOnlySequence<byte>(pending);
            while ((status = reader.TryRead(ref sequence, out var m)) == ChunkReadStatus.Message)
                messages.Add(new Received(m.ChunkStreamId, m.TypeId, m.Timestamp, m.MessageStreamId, m.Payload.ToArray()));
            pending = sequence.ToArray();
        }
        return (messages, status, reader);
    }

    [Fact]
    public void Single_chunk_message()
    {
        var (messages, last, _) = ReadAll(Hex.Bytes("03 000064 000003 14 00000000 AABBCC"));
        var m = Assert.Single(messages);
        Assert.Equal((3, (byte)20, 100u, 0u), (m.Csid, m.Type, m.Timestamp, m.StreamId));
        Assert.Equal(Hex.Bytes("AABBCC"), m.Payload);
        Assert.Equal(ChunkReadStatus.NeedMoreData, last);
    }

    [Fact]
    public void Message_split_into_type3_chunks_at_the_default_chunk_size()
    {
        var payload = Payload(300);
        var bytes = Concat("04 000010 00012C 09 01000000", payload[..128], "C4", payload[128..256], "C4", payload[256..]);
        foreach (int step in new[] { int.MaxValue, 1, 7, 129 })
        {
            var (messages, _, _) = ReadAll(bytes, step);
            var m = Assert.Single(messages);
            Assert.Equal((4, (byte)9, 16u, 1u), (m.Csid, m.Type, m.Timestamp, m.StreamId));
            Assert.Equal(payload, m.Payload);
        }
    }

    [Fact]
    public void Interleaved_chunk_streams_complete_independently()
    {
        var video = Payload(200, 2);
        var audio = Payload(10, 3);
        var bytes = Concat("04 000000 0000C8 09 01000000", video[..128], "05 000000 00000A 08 01000000", audio, "C4", video[128..]);
        var (messages, _, _) = ReadAll(bytes);
        Assert.Equal(2, messages.Count);
        Assert.Equal((5, (byte)8), (messages[0].Csid, messages[0].Type));
        Assert.Equal(audio, messages[0].Payload);
        Assert.Equal((4, (byte)9), (messages[1].Csid, messages[1].Type));
        Assert.Equal(video, messages[1].Payload);
    }

    [Fact]
    public void Deltas_of_type_1_2_and_3_headers_accumulate()
    {
        var bytes = Concat(
            "04 0003E8 000002 09 01000000 0101", // t=1000
            "84 000028 0202",                    // type 2: +40
            "44 000028 000003 08 030303",        // type 1: +40, new length and type
            "C4 040404");                        // type 3 new message: repeats +40
        var (messages, _, _) = ReadAll(bytes);
        Assert.Equal(new uint[] { 1000, 1040, 1080, 1120 }, messages.Select(m => m.Timestamp));
        Assert.Equal(new byte[] { 9, 9, 8, 8 }, messages.Select(m => m.Type));
        Assert.All(messages, m => Assert.Equal(1u, m.StreamId));
    }

    [Fact]
    public void Extended_timestamp_is_repeated_on_type3_chunks()
    {
        var payload = Payload(200, 4);
        var bytes = Concat(
            "04 FFFFFF 0000C8 09 01000000 01000000", payload[..128],
            "C4 01000000", payload[128..],
            // a new message by type 3: the extended value repeats as a delta
            "C4 01000000", payload[..128], "C4 01000000", payload[128..]);
        var (messages, _, _) = ReadAll(bytes, 5);
        Assert.Equal(new uint[] { 0x01000000, 0x02000000 }, messages.Select(m => m.Timestamp));
        Assert.All(messages, m => Assert.Equal(payload, m.Payload));
    }

    [Fact]
    public void Type3_chunk_without_the_repeated_extended_timestamp_is_tolerated()
    {
        var payload = Payload(200, 5);
        payload[128] = 0x55; // cannot be mistaken for the 0x01 that starts the extended value
        var bytes = Concat("04 FFFFFF 0000C8 09 01000000 01000000", payload[..128], "C4", payload[128..]);
        var (messages, _, _) = ReadAll(bytes);
        Assert.Equal(payload, Assert.Single(messages).Payload);
    }

    [Fact]
    public void Chunk_size_change_applies_in_the_middle_of_a_message()
    {
        var payload = Payload(300, 6);
        var bytes = Concat(
            "04 000000 00012C 09 01000000", payload[..128],
            "02 000000 000004 01 00000000 00001000", // Set Chunk Size 4096
            "C4", payload[128..]);                   // the remaining 172 bytes in one chunk
        var (messages, last, reader) = ReadAll(bytes);
        Assert.Equal(2, messages.Count);
        Assert.Equal(RtmpMessageType.SetChunkSize, messages[0].Type);
        Assert.Equal(payload, messages[1].Payload);
        Assert.Equal(4096, reader.ChunkSize);
        Assert.Equal(ChunkReadStatus.NeedMoreData, last);
    }

    [Fact]
    public void Abort_discards_the_partial_message()
    {
        var payload = Payload(300, 7);
        var bytes = Concat(
            "04 000000 00012C 09 01000000", payload[..128],
            "02 000000 000004 02 00000000 00000004", // Abort chunk stream 4
            "04 000005 000002 09 01000000 ABCD");
        var (messages, _, reader) = ReadAll(bytes);
        Assert.Equal(new byte[] { RtmpMessageType.Abort, 9 }, messages.Select(m => m.Type));
        Assert.Equal(Hex.Bytes("ABCD"), messages[1].Payload);
        Assert.False(reader.HasPartialMessage);
    }

    [Fact]
    public void Zero_length_message_is_returned()
    {
        var (messages, _, _) = ReadAll(Hex.Bytes("03 000000 000000 14 00000000"));
        Assert.Empty(Assert.Single(messages).Payload);
    }

    [Fact]
    public void Truncated_chunk_needs_more_data_and_reports_a_partial_message()
    {
        var (messages, last, reader) = ReadAll(Hex.Bytes("03 000000 000010 14 00000000 0102"));
        Assert.Empty(messages);
        Assert.Equal(ChunkReadStatus.NeedMoreData, last);
        Assert.True(reader.HasPartialMessage);
    }

    public static TheoryData<string, string, ChunkReadError> Errors => new()
    {
        { "type 1 on a chunk stream never opened", "44 000021 000100 09", ChunkReadError.ChunkStreamNotOpened },
        { "type 3 on a chunk stream never opened", "C7 00", ChunkReadError.ChunkStreamNotOpened },
        { "type 2 on a chunk stream never opened (2-byte csid)", "80 10 000001", ChunkReadError.ChunkStreamNotOpened },
        { "message larger than the limit", "04 000000 000401 09 01000000", ChunkReadError.MessageTooLarge },
        { "chunk size 0", "02 000000 000004 01 00000000 00000000", ChunkReadError.InvalidChunkSize },
        { "chunk size with the reserved bit", "02 000000 000004 01 00000000 80000000", ChunkReadError.InvalidChunkSize },
        { "set chunk size too short", "02 000000 000002 01 00000000 0010", ChunkReadError.InvalidChunkSize },
        { "abort too short", "02 000000 000001 02 00000000 04", ChunkReadError.InvalidAbortMessage },
        { "new header inside a message", "04 000000 0000C8 09 01000000" + new string('0', 256) + "04 000000 000001 09 01000000 00", ChunkReadError.HeaderInsideMessage },
        { "a third chunk stream", "03 000000 000000 14 00000000 04 000000 000000 14 00000000 05 000000 000000 14 00000000", ChunkReadError.TooManyChunkStreams },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Malformed_chunk_streams_give_a_typed_error(string name, string hex, ChunkReadError expected)
    {
        var options = new ChunkStreamReaderOptions { MaxMessageSize = 1024, MaxChunkStreams = 2 };
        foreach (int step in new[] { int.MaxValue, 1 })
        {
            var (_, last, reader) = ReadAll(Hex.Bytes(hex), step, options);
            Assert.Equal(ChunkReadStatus.Error, last);
            Assert.Equal(expected, reader.Error);
            // The error is sticky: nothing more is parsed.
            var more = new ReadOnlySequence<byte>(Hex.Bytes("03 000000 000000 14 00000000"));
            Assert.Equal(ChunkReadStatus.Error, reader.TryRead(ref more, out _));
            Assert.True(name.Length > 0);
        }
    }

    [Fact]
    public void Buffered_bytes_across_chunk_streams_are_bounded()
    {
        var options = new ChunkStreamReaderOptions { MaxMessageSize = 1000, MaxBufferedBytes = 1500 };
        var bytes = Concat("04 000000 0003E8 09 01000000", new byte[128], "05 000000 0003E8 08 01000000");
        var (_, last, reader) = ReadAll(bytes, int.MaxValue, options);
        Assert.Equal(ChunkReadStatus.Error, last);
        Assert.Equal(ChunkReadError.TooMuchBufferedData, reader.Error);
    }
}

public class ChunkStreamWriterTests
{
    [Fact]
    public void Splits_at_the_chunk_size_with_type3_headers()
    {
        var payload = new byte[300];
        new Random(1).NextBytes(payload);
        var bytes = Hex.Written(w => new ChunkStreamWriter().Write(w, 4, 9, 16, 1, payload));
        var expected = Hex.Bytes("04 000010 00012C 09 01000000").Concat(payload[..128]).Concat(Hex.Bytes("C4")).Concat(payload[128..256]).Concat(Hex.Bytes("C4")).Concat(payload[256..]);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Repeats_the_extended_timestamp_on_type3_chunks()
    {
        var payload = new byte[130];
        var bytes = Hex.Written(w => new ChunkStreamWriter().Write(w, 3, 20, 0x01000000, 0, payload));
        var expected = Hex.Bytes("03 FFFFFF 000082 14 00000000 01000000").Concat(payload[..128]).Concat(Hex.Bytes("C3 01000000")).Concat(payload[128..]);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Reader_reads_what_the_writer_wrote_at_a_larger_chunk_size()
    {
        var payload = new byte[10_000];
        new Random(2).NextBytes(payload);
        var writer = new ChunkStreamWriter { ChunkSize = 4096 };
        var bytes = Hex.Written(w => writer.Write(w, 6, 9, 123, 1, payload));
        var reader = new ChunkStreamReader();
        var setSize = new ReadOnlySequence<byte>(Hex.Written(w => new ChunkStreamWriter().Write(w, 2, 1, 0, 0, Hex.Bytes("00001000"))));
        Assert.Equal(ChunkReadStatus.Message, reader.TryRead(ref setSize, out _));
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(ChunkReadStatus.Message, reader.TryRead(ref sequence, out var m));
        Assert.Equal(payload, m.Payload.ToArray());
        Assert.Equal(123u, m.Timestamp);
        Assert.True(sequence.IsEmpty);
    }
}
