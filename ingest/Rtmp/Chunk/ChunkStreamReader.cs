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

    /// <summary>A message type <see cref="ChunkStreamReader.MessageTypeFilter"/> refuses now (e.g. video before connect);
    /// see <see cref="ChunkStreamReader.RejectedTypeId"/>.</summary>
    MessageTypeNotAllowed,

    /// <summary>A protocol or user control message (types 1-6) longer than <see cref="ChunkStreamReader.MaxControlMessageLength"/>.</summary>
    ControlMessageTooLarge,

    /// <summary>A new message would leave more than <see cref="ChunkStreamReader.MaxPartialMessages"/> chunk streams holding partial
    /// messages.</summary>
    TooManyPartialMessages,

    /// <summary>The buffer source (a memory budget) refused the reassembly buffer a message needed.</summary>
    BufferRefused,
}

/// <summary>
/// Where a <see cref="ChunkStreamReader"/> gets its reassembly buffers. A source may refuse (return null): a memory
/// budget that is spent. Every buffer rented is returned exactly once.
/// </summary>
public interface IChunkBufferSource
{
    /// <summary>An array of at least <paramref name="minimumLength"/> bytes, or null when none may be had now.</summary>
    byte[]? TryRent(int minimumLength);

    void Return(byte[] buffer);
}

/// <summary>The default source: <see cref="ArrayPool{T}.Shared"/>, never refusing (clients, tests).</summary>
public sealed class SharedChunkBufferSource : IChunkBufferSource
{
    public static readonly SharedChunkBufferSource Instance = new();

    private SharedChunkBufferSource()
    {
    }

    public byte[]? TryRent(int minimumLength) => ArrayPool<byte>.Shared.Rent(minimumLength);

    public void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}

public sealed class ChunkStreamReaderOptions
{
    public const int DefaultMaxMessageSize = 8 * 1024 * 1024;

    /// <summary>Largest message we reassemble; a longer message length in a header is an error.</summary>
    public int MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Distinct chunk streams a peer may open (encoders use fewer than ten).</summary>
    public int MaxChunkStreams { get; init; } = 64;

    /// <summary>Sum of the declared lengths of messages being reassembled at once (changeable later:
    /// <see cref="ChunkStreamReader.MaxBufferedBytes"/>).</summary>
    public int MaxBufferedBytes { get; init; } = 2 * DefaultMaxMessageSize;

    /// <summary>Chunk streams that may hold a partial message at once; 0: no limit but <see cref="MaxChunkStreams"/>.</summary>
    public int MaxPartialMessages { get; init; }

    /// <summary>Reassembly buffers; null: <see cref="SharedChunkBufferSource"/>.</summary>
    public IChunkBufferSource? Buffers { get; init; }
}

/// <summary>
/// Incremental RTMP chunk stream parser (RTMP 1.0 §5.3): fed bytes as they arrive, it returns whole messages.
/// It keeps per-chunk-stream header state, reassembles interleaved chunk streams into pooled buffers, and applies
/// Set Chunk Size and Abort Message (§5.4.1, §5.4.2) itself because they change how the next chunks are read
/// (it still returns them, so the caller may log them). No allocation per chunk: a message's buffer is rented from
/// <see cref="ChunkStreamReaderOptions.Buffers"/> when its first payload arrives, grown as payload arrives (or, with
/// <see cref="AllocateDeclaredLength"/>, rented at the declared length at once), and returned as soon as the caller is
/// done with the message (at the next call): a chunk stream holds memory only while a message on it is incomplete.
/// </summary>
public sealed class ChunkStreamReader : IDisposable
{
    private const int MaxChunkSize = 0x7FFFFFFF;

    /// <summary>Set Chunk Size, Abort, Acknowledgement and Window Acknowledgement Size have 4 bytes, Set Peer Bandwidth 5,
    /// user control events at most 44 (SWF verification).</summary>
    public const int MaxControlMessageLength = 64;

    private readonly ChunkStreamReaderOptions _options;
    private readonly IChunkBufferSource _buffers;
    private readonly Dictionary<int, ChunkStreamState> _streams = new();
    private ChunkStreamState? _current;   // the chunk whose payload we are in the middle of, or null at a chunk boundary
    private int _chunkRemaining;
    private ChunkStreamState? _completed; // the message returned last time; its buffer goes back at the next call
    private int _buffered;
    private int _partial;

    public ChunkStreamReader(ChunkStreamReaderOptions? options = null)
    {
        _options = options ?? new ChunkStreamReaderOptions();
        _buffers = _options.Buffers ?? SharedChunkBufferSource.Instance;
        MaxBufferedBytes = _options.MaxBufferedBytes;
        MaxPartialMessages = _options.MaxPartialMessages;
    }

    /// <summary>Sum of the declared lengths of the messages being reassembled at once; checked when a message starts.</summary>
    public int MaxBufferedBytes { get; set; }

    /// <summary>Chunk streams that may hold a partial message at once; 0: no limit but the number of chunk streams.</summary>
    public int MaxPartialMessages { get; set; }

    /// <summary>
    /// Rent a message's whole declared length at its first payload byte (one buffer, no copying as it grows): for a
    /// peer that is trusted to send what it declares. Off, a buffer grows with the bytes that actually arrived.
    /// </summary>
    public bool AllocateDeclaredLength { get; set; }

    /// <summary>Decides, at a message's first chunk header, whether its type is acceptable now; null accepts all.</summary>
    public Func<byte, bool>? MessageTypeFilter { get; set; }

    /// <summary>Type id of the message whose header caused the last header-stage error.</summary>
    public byte RejectedTypeId { get; private set; }

    /// <summary>Declared length of the message whose header caused the last header-stage error.</summary>
    public int RejectedLength { get; private set; }

    /// <summary>Sum of the declared lengths of the messages being reassembled now.</summary>
    public int BufferedBytes => _buffered;

    /// <summary>Chunk streams holding a partial message now (one longer than a chunk, not complete yet).</summary>
    public int PartialMessages => _partial;

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
    public bool HasPartialMessage => _current is not null || _buffered > 0 || _partial > 0;

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
            _completed.ReturnBuffer(_buffers);
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
                if (!state.EnsureCapacity(state.Received + take, AllocateDeclaredLength, _buffers)) return Fail(ChunkReadError.BufferRefused);
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
            state.EndPartial(ref _partial);
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
            // Everything a message may cost is decided here, from its header, before any of its payload is buffered.
            RejectedTypeId = state.TypeId;
            RejectedLength = state.Length;
            if (state.Length > _options.MaxMessageSize) return Fail(ChunkReadError.MessageTooLarge);
            if (MessageTypeFilter is { } filter && !filter(state.TypeId)) return Fail(ChunkReadError.MessageTypeNotAllowed);
            if (state.TypeId is >= RtmpMessageType.SetChunkSize and <= RtmpMessageType.SetPeerBandwidth && state.Length > MaxControlMessageLength)
                return Fail(ChunkReadError.ControlMessageTooLarge);
            // Only a message longer than one chunk can be left partial while other chunk streams go on; one that fits its
            // first chunk is complete before another header is read (a ping or an abort between partial messages is fine).
            bool spansChunks = state.Length > ChunkSize;
            if (spansChunks && MaxPartialMessages > 0 && _partial >= MaxPartialMessages) return Fail(ChunkReadError.TooManyPartialMessages);
            if ((long)_buffered + state.Length > MaxBufferedBytes) return Fail(ChunkReadError.TooMuchBufferedData);
            _buffered += state.Length;
            if (spansChunks)
            {
                state.Partial = true;
                _partial++;
            }
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
                if (_streams.TryGetValue((int)Math.Min(abort.ChunkStreamId, int.MaxValue), out var aborted) && aborted.Received > 0
                    && aborted != _completed)
                {
                    _buffered -= aborted.Length;
                    aborted.EndPartial(ref _partial);
                    aborted.Received = 0;
                    aborted.ReturnBuffer(_buffers);
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

    /// <summary>Returns every buffer to its source; the reader must not be used afterwards.</summary>
    public void Dispose()
    {
        foreach (var state in _streams.Values) state.ReturnBuffer(_buffers);
        _streams.Clear();
        _current = null;
        _completed = null;
        _buffered = 0;
        _partial = 0;
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
        public bool Partial; // counted in the reader's partial messages: spans more than one chunk
        public byte[] Buffer = [];

        public void EndPartial(ref int partial)
        {
            if (!Partial) return;
            Partial = false;
            partial--;
        }

        /// <summary>
        /// Room for <paramref name="needed"/> bytes of the current message, keeping those received so far: the whole
        /// declared length when <paramref name="declared"/>, else doubling with what arrived. False: the source refused.
        /// </summary>
        public bool EnsureCapacity(int needed, bool declared, IChunkBufferSource source)
        {
            if (Buffer.Length >= needed) return true;
            int size = declared ? Length : Math.Min(Length, Math.Max(needed, Math.Max(Buffer.Length * 2, 256)));
            var grown = source.TryRent(size);
            if (grown is null) return false;
            Buffer.AsSpan(0, Received).CopyTo(grown);
            ReturnBuffer(source);
            Buffer = grown;
            return true;
        }

        public void ReturnBuffer(IChunkBufferSource source)
        {
            if (Buffer.Length > 0) source.Return(Buffer);
            Buffer = [];
        }
    }
}
