using System.Buffers;
using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

/// <summary>The FLV stream reader over real FLV bytes, whole, split at every byte, spread over segments, and corrupt.</summary>
public sealed class FlvStreamReaderTests
{
    private static byte[] Stream(int tags)
    {
        var w = new ArrayBufferWriter<byte>();
        FlvMuxer.WriteHeader(w, hasAudio: true, hasVideo: true);
        for (int i = 0; i < tags; i++) FlvMuxer.WriteAudioTag(w, (uint)(i * 21), packetType: 1, [0x21, 0x10, (byte)i]);
        return w.WrittenSpan.ToArray();
    }

    private static (List<uint> Timestamps, string? Error, long Consumed) ReadAll(FlvStreamReader reader, ReadOnlySequence<byte> buffer, int stopAfter = int.MaxValue)
    {
        var seen = new List<uint>();
        var position = reader.Read(buffer, tag =>
        {
            seen.Add(tag.TimestampMs);
            return seen.Count < stopAfter;
        }, out var error);
        return (seen, error, buffer.Slice(0, position).Length);
    }

    [Fact]
    public void Reads_the_header_once_and_every_whole_tag()
    {
        var bytes = Stream(3);
        var (seen, error, consumed) = ReadAll(new FlvStreamReader(), new ReadOnlySequence<byte>(bytes));
        Assert.Null(error);
        Assert.Equal([0u, 21u, 42u], seen);
        Assert.Equal(bytes.Length, consumed);
    }

    [Fact]
    public void Split_at_every_byte_it_delivers_the_same_tags()
    {
        var bytes = Stream(3);
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            var reader = new FlvStreamReader();
            var first = ReadAll(reader, new ReadOnlySequence<byte>(bytes, 0, cut));
            var rest = ReadAll(reader, new ReadOnlySequence<byte>(bytes, (int)first.Consumed, bytes.Length - (int)first.Consumed));
            Assert.Null(first.Error);
            Assert.Null(rest.Error);
            Assert.Equal([0u, 21u, 42u], first.Timestamps.Concat(rest.Timestamps));
            Assert.Equal(bytes.Length, first.Consumed + rest.Consumed);
        }
    }

    [Fact]
    public void A_buffer_of_several_segments_is_read_like_one()
    {
        var bytes = Stream(4);
        var sequence = Segments.Of(bytes, 7);
        Assert.False(sequence.IsSingleSegment);
        var (seen, error, consumed) = ReadAll(new FlvStreamReader(), sequence);
        Assert.Null(error);
        Assert.Equal(4, seen.Count);
        Assert.Equal(bytes.Length, consumed);
    }

    [Fact]
    public void The_handler_can_stop_and_the_rest_stays_unconsumed()
    {
        var bytes = Stream(3);
        var reader = new FlvStreamReader();
        var (seen, _, consumed) = ReadAll(reader, new ReadOnlySequence<byte>(bytes), stopAfter: 1);
        Assert.Single(seen);
        var rest = ReadAll(reader, new ReadOnlySequence<byte>(bytes, (int)consumed, bytes.Length - (int)consumed));
        Assert.Equal([21u, 42u], rest.Timestamps);
    }

    [Theory]
    [InlineData("<html><body>Not found</body></html>", "signature")]
    [InlineData("HTTP/1.1 200 OK", "signature")]
    [InlineData("Invalid data found when processing input\n", "signature")] // ffmpeg's complaint, were it ever on stdout
    [InlineData("FLV\u0002", "signature")] // version 2 does not exist
    [InlineData("", null)]
    [InlineData("F", null)]
    [InlineData("FLV", null)]
    public void Bytes_that_can_never_be_the_file_header_are_an_error_and_a_short_prefix_is_a_wait(string text, string? expected)
    {
        var (seen, error, consumed) = ReadAll(new FlvStreamReader(), new ReadOnlySequence<byte>(System.Text.Encoding.Latin1.GetBytes(text)));
        Assert.Empty(seen);
        Assert.Equal(0, consumed);
        if (expected is null) Assert.Null(error);
        else Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_data_offset_out_of_range_is_an_error_before_the_header_is_whole()
    {
        byte[] header = [(byte)'F', (byte)'L', (byte)'V', 1, 5, 0, 0, 0, 3];
        var (_, error, consumed) = ReadAll(new FlvStreamReader(), new ReadOnlySequence<byte>(header));
        Assert.Equal(0, consumed);
        Assert.Contains("DataOffset 3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_previous_tag_size_is_an_error_not_a_wait()
    {
        var bytes = Stream(2);
        bytes[^1] ^= 0xFF; // the last PreviousTagSize
        var (seen, error, _) = ReadAll(new FlvStreamReader(), new ReadOnlySequence<byte>(bytes));
        Assert.Single(seen);
        Assert.Contains("PreviousTagSize", error, StringComparison.Ordinal);
    }

    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public static ReadOnlySequence<byte> Of(byte[] bytes, int size)
        {
            var first = new Segments(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
            var last = first;
            for (int at = size; at < bytes.Length; at += size)
            {
                var next = new Segments(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), at);
                last.Next = next;
                last = next;
            }
            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
