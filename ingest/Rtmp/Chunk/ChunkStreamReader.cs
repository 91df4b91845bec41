using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Ingest.Rtmp;

public enum ChunkReadStatus
{
    /// <summary>A whole message was reassembled.</summary>
    Message,

    /// <summary>Every complete byte has been consumed; feed more.</summary>
    NeedMoreData,

    /// <summary>The peer broke the protocol; <see cref="ChunkStreamReader.Error"/> says how. The connection must close.</summary>
    Error,
}

public enum ChunkReadError
{
    None,

    /// <summary>A type 1/2/3 chunk on a chunk stream that never had a type 0 header.</summary>
    ChunkStreamNotOpened,

    /// <summary>More distinct chunk streams than <see cref="ChunkStreamReaderOptions.MaxChunkStreams"/>.</summary>
    TooManyChunkStreams,

    /// <summary>A message length above <see cref="ChunkStreamReaderOptions.MaxMessageSize"/>.</summary>
    MessageTooLarge,

    /// <summary>Partially received messages together would exceed <see cref="ChunkStreamReaderOptions.MaxBufferedBytes"/>.</summary>
    TooMuchBufferedData,

    /// <summary>A type 0/1/2 header arrived in the middle of a message on the same chunk stream.</summary>
    HeaderInsideMessage,

    /// <summary>Set Chunk Size of 0, with the reserved top bit set, or a malformed payload.</summary>
    InvalidChunkSize,

    /// <summary>A malformed Abort Message.</summary>
    InvalidAbortMessage,
}

public sealed class ChunkStreamReaderOptions
{
    public const int DefaultMaxMessageSize = 8 * 1024 * 1024;

    /// <summary>Largest message we reassemble; a longer message length in a header is an error.</summary>
    public int MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Distinct chunk streams a peer may open (encoders use fewer than ten).</summary>
    public int MaxChunkStreams { get; init; } = 64;

    /// <summary>Sum of the lengths of messages being reassembled at once, the bound on reassembly memory.</summary>
    public int MaxBufferedBytes { get; init; } = 2 * DefaultMaxMessageSize;
}

/// <summary>
/// Incremental RTMP chunk stream parser (RTMP 1.0 §5.3): fed bytes as they arrive, it returns whole messages.
/// It keeps per-chunk-stream header state, reassembles interleaved chunk streams into pooled buffers, and applies
/// Set Chunk Size and Abort Message (§5.4.1, §5.4.2) itself because they change how the next chunks are read
/// (it still returns them, so the caller may log them). No allocation per chunk: buffers are rented per chunk stream,
/// grown as payload arrives, and reused for its next message.
/// </summary>
public sealed class ChunkStreamReader : IDisposable
{
    private const int MaxChunkSize = 0x7FFFFFFF;

    private readonly ChunkStreamReaderOptions _options;
    private readonly Dictionary<int, ChunkStreamState> _streams = new();
    private ChunkStreamState? _current;   // the chunk whose payload we are in the middle of, or null at a chunk boundary
    private int _chunkRemaining;
    private ChunkStreamState? _completed; // the message returned last time; its buffer is reused from the next call on
    private int _buffered;

    public ChunkStreamReader(ChunkStreamReaderOptions? options = null) => _options = options ?? new ChunkStreamReaderOptions();

    /// <summary>The peer's chunk size: 128 until it sends Set Chunk Size.</summary>
    public int ChunkSize { get; private set; } = 128;

    public ChunkReadError Error { get; private set; }

    public int OpenChunkStreams => _streams.Count;

    /// <summary>
    /// Bytes of reassembly buffer held now. Buffers grow with the bytes that actually arrived (doubling, up to the
    /// message length), never with the length a header declares: a 16 MB length followed by 10 bytes costs little.
    /// </summary>
    public long ReservedBytes
    {
        get
        {
            long sum = 0;
            foreach (var state in _streams.Values) sum += state.Buffer.Length;
            return sum;
        }
    }

    /// <summary>True while a message or chunk has been started and not finished.</summary>
    public bool HasPartialMessage => _current is not null || _buffered > 0;

    /// <summary>
    /// Consumes chunks from <paramref name="buffer"/> (sliced past what was consumed) until a message is complete,
    /// the data runs out, or the peer breaks the protocol.
    /// </summary>
    public ChunkReadStatus TryRead(ref ReadOnlySequence<byte> buffer, out RtmpMessage message)
    {
        message = default;
        if (Error != ChunkReadError.None) return ChunkReadStatus.Error;
        if (_completed is not null)
        {
            _completed.Received = 0;
            _completed = null;
        }
        while (true)
        {
            if (_current is null)
            {
                var status = TryReadHeader(ref buffer);
                if (status != ChunkReadStatus.Message) return status;
            }

            var state = _current!;
            if (_chunkRemaining > 0)
            {
                if (buffer.IsEmpty) return ChunkReadStatus.NeedMoreData;
                int take = (int)Math.Min(buffer.Length, _chunkRemaining);
                state.EnsureCapacity(state.Received + take);
                buffer.Slice(0, take).CopyTo(state.Buffer.AsSpan(state.Received, take));
                buffer = buffer.Slice(take);
                state.Received += take;
                _chunkRemaining -= take;
                if (_chunkRemaining > 0) return ChunkReadStatus.NeedMoreData;
            }

            _current = null;
            if (state.Received < state.Length) continue;

            // A whole message.
            _buffered -= state.Length;
            message = new RtmpMessage(state.ChunkStreamId, state.TypeId, state.Timestamp, state.StreamId, state.Buffer.AsMemory(0, state.Length));
            _completed = state;
            if (!ApplyControl(message)) return ChunkReadStatus.Error;
            return ChunkReadStatus.Message;
        }
    }

    /// <summary>Reads and applies one chunk header; "Message" here means "header consumed, payload follows".</summary>
    private ChunkReadStatus TryReadHeader(ref ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty) return ChunkReadStatus.NeedMoreData;
        Span<byte> scratch = stackalloc byte[ChunkHeader.MaxLength];
        scoped ReadOnlySpan<byte> head;
        var first = buffer.FirstSpan;
        if (first.Length >= ChunkHeader.MaxLength) head = first;
        else
        {
            int n = (int)Math.Min(buffer.Length, ChunkHeader.MaxLength);
            buffer.Slice(0, n).CopyTo(scratch);
            head = scratch[..n];
        }

        if (!ChunkHeader.TryReadBasic(head, out var format, out int csid, out _)) return ChunkReadStatus.NeedMoreData;
        if (!_streams.TryGetValue(csid, out var state))
        {
            if (format != ChunkFormat.Full) return Fail(ChunkReadError.ChunkStreamNotOpened);
            if (_streams.Count >= _options.MaxChunkStreams) return Fail(ChunkReadError.TooManyChunkStreams);
            state = null;
        }

        if (!ChunkHeader.TryRead(head, state?.Extended ?? false, out var header, out int consumed)) return ChunkReadStatus.NeedMoreData;

        if (format == ChunkFormat.Continuation && header.HasExtendedTimestamp && header.Timestamp != state!.ExtendedField)
        {
            // Some encoders omit the repeated extended timestamp on type-3 chunks (the spec is ambiguous, and
            // librtmp/SRS accept both). Four bytes not equal to the last extended value are payload, not header.
            consumed -= 4;
        }

        if (state is null)
        {
            state = new ChunkStreamState(csid);
            _streams.Add(csid, state);
        }

        bool startsMessage = state.Received == 0;
        if (format != ChunkFormat.Continuation && !startsMessage) return Fail(ChunkReadError.HeaderInsideMessage);

        switch (format)
        {
            case ChunkFormat.Full:
                state.Timestamp = header.Timestamp;
                state.Delta = header.Timestamp; // a following type-3 message repeats it as a delta (as ffmpeg and SRS read it)
                state.Length = header.MessageLength;
                state.TypeId = header.MessageTypeId;
                state.StreamId = header.MessageStreamId;
                break;
            case ChunkFormat.SameStream:
                state.Delta = header.Timestamp;
                state.Timestamp += header.Timestamp;
                state.Length = header.MessageLength;
                state.TypeId = header.MessageTypeId;
                break;
            case ChunkFormat.TimestampOnly:
                state.Delta = header.Timestamp;
                state.Timestamp += header.Timestamp;
                break;
            default:
                if (startsMessage) state.Timestamp += state.Delta;
                break;
        }
        if (format != ChunkFormat.Continuation)
        {
            state.Extended = header.HasExtendedTimestamp;
            if (header.HasExtendedTimestamp) state.ExtendedField = header.Timestamp;
        }

        if (startsMessage)
        {
            if (state.Length > _options.MaxMessageSize) return Fail(ChunkReadError.MessageTooLarge);
            if (_buffered + state.Length > _options.MaxBufferedBytes) return Fail(ChunkReadError.TooMuchBufferedData);
            _buffered += state.Length;
        }

        buffer = buffer.Slice(consumed);
        _current = state;
        _chunkRemaining = Math.Min(ChunkSize, state.Length - state.Received);
        return ChunkReadStatus.Message;
    }

    private bool ApplyControl(in RtmpMessage message)
    {
        if (message.MessageStreamId != 0 && message.TypeId is RtmpMessageType.SetChunkSize or RtmpMessageType.Abort)
            return true; // protocol control messages live on stream 0 (§5.4); elsewhere they are not ours to apply
        switch (message.TypeId)
        {
            case RtmpMessageType.SetChunkSize:
                if (!SetChunkSize.TryRead(message.Payload.Span, out var size, out _))
                {
                    Fail(ChunkReadError.InvalidChunkSize);
                    return false;
                }
                ChunkSize = (int)size.Size;
                return true;
            case RtmpMessageType.Abort:
                if (!AbortMessage.TryRead(message.Payload.Span, out var abort, out _))
                {
                    Fail(ChunkReadError.InvalidAbortMessage);
                    return false;
                }
                if (_streams.TryGetValue((int)Math.Min(abort.ChunkStreamId, int.MaxValue), out var aborted) && aborted.Received > 0 && aborted != _completed)
                {
                    _buffered -= aborted.Length;
                    aborted.Received = 0;
                }
                return true;
            default:
                return true;
        }
    }

    private ChunkReadStatus Fail(ChunkReadError error)
    {
        Error = error;
        return ChunkReadStatus.Error;
    }

    public void Dispose()
    {
        foreach (var state in _streams.Values) state.ReturnBuffer();
        _streams.Clear();
        _current = null;
        _completed = null;
    }

    private sealed class ChunkStreamState(int chunkStreamId)
    {
        public readonly int ChunkStreamId = chunkStreamId;
        public uint Timestamp;
        public uint Delta;
        public int Length;
        public byte TypeId;
        public uint StreamId;
        public bool Extended;
        public uint ExtendedField;
        public int Received;
        public byte[] Buffer = [];

        /// <summary>Room for <paramref name="needed"/> bytes of the current message, keeping those received so far.</summary>
        public void EnsureCapacity(int needed)
        {
            if (Buffer.Length >= needed) return;
            int size = Math.Min(Length, Math.Max(needed, Math.Max(Buffer.Length * 2, 256)));
            var grown = ArrayPool<byte>.Shared.Rent(size);
            Buffer.AsSpan(0, Received).CopyTo(grown);
            ReturnBuffer();
            Buffer = grown;
        }

        public void ReturnBuffer()
        {
            if (Buffer.Length > 0) ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = [];
        }
    }
}
