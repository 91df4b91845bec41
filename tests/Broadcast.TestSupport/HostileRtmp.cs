using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Broadcast.TestSupport;

/// <summary>
/// What a hostile RTMP client does after its handshake. Each is something the server must survive with bounded
/// memory: none publishes, most never send connect.
/// </summary>
public enum HostileRtmpPattern
{
    /// <summary>
    /// The reported attack: Set Chunk Size 8 MiB, then one whole message of <see cref="HostileRtmpOptions.MessageBytes"/>
    /// on each chunk stream 3-63 (type <see cref="HostileRtmpOptions.MessageType"/>). A server that keeps a buffer per
    /// chunk stream after its message completes holds 61 of them per connection, and keeps them after the close.
    /// </summary>
    ChunkStreams,

    /// <summary>Headers declaring huge messages (<see cref="HostileRtmpOptions.MessageBytes"/>) with a few KiB behind them.</summary>
    HugeLengths,

    /// <summary>
    /// Partial messages on many chunk streams at once: a first chunk on each of streams 3-63 (128-byte chunks), then
    /// round after round of one more chunk each, never finishing one.
    /// </summary>
    InterleavedPartials,

    /// <summary>Aggregate messages (type 22) full of audio/video sub-messages: before connect (even index) or after (odd).</summary>
    Aggregates,

    /// <summary>
    /// After a real connect: interleaved partial messages whose headers carry extended timestamps, with type-3
    /// continuation chunks that alternately repeat and omit the 4-byte extended field, and Abort messages in between.
    /// </summary>
    ExtendedTimestamps,

    /// <summary>
    /// Message types RTMP does not expect before connect, one kind per connection (by index): data, shared object, an
    /// unassigned type, an oversized acknowledgement, an oversized set peer bandwidth, audio.
    /// </summary>
    BeforeConnect,
}

public sealed record HostileRtmpOptions
{
    /// <summary>Declared (and, for <see cref="HostileRtmpPattern.ChunkStreams"/>, sent) length of each message.</summary>
    public int MessageBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Message type of <see cref="HostileRtmpPattern.ChunkStreams"/> and <see cref="HostileRtmpPattern.HugeLengths"/>: an AMF0 command by default.</summary>
    public byte MessageType { get; init; } = 20;

    /// <summary>Chunk streams used by the multi-stream patterns (3 up to 2 + this; at most 61: one-byte chunk stream ids).</summary>
    public int ChunkStreams { get; init; } = 61;

    /// <summary>Rounds of one more chunk per stream in the interleaved patterns.</summary>
    public int Rounds { get; init; } = 8;

    /// <summary>How long to keep the connection open after sending, unless the server closes it first.</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Source address to connect from (Linux routes all of 127/8 to loopback); null: the default.</summary>
    public IPAddress? Source { get; init; }

    /// <summary>The app the patterns that connect first name.</summary>
    public string App { get; init; } = "live";
}

/// <summary>How one hostile connection went.</summary>
public sealed record HostileRtmpOutcome(HostileRtmpPattern Pattern, int Index, bool Handshaken, long BytesSent, bool ClosedByServer, TimeSpan Elapsed, string? Error);

/// <summary>
/// A raw-socket RTMP client that plays the hostile patterns; builds its chunks by hand (no dependency on the server's
/// code) so the tests, the end-to-end test and bench/hostile.sh send the same bytes.
/// </summary>
public sealed class HostileRtmpClient : IAsyncDisposable
{
    public const int HandshakeLength = 1536;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private long _sent;

    private HostileRtmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public long BytesSent => Interlocked.Read(ref _sent);

    public static async Task<HostileRtmpClient> ConnectAsync(IPEndPoint server, IPAddress? source = null, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null) socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
            return new HostileRtmpClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Plain handshake: C0C1, read S0S1S2, C2 = S1.</summary>
    public async Task HandshakeAsync(CancellationToken cancellationToken = default)
    {
        var c0c1 = new byte[1 + HandshakeLength];
        c0c1[0] = 3;
        Random.Shared.NextBytes(c0c1.AsSpan(9));
        await SendAsync(c0c1, cancellationToken).ConfigureAwait(false);
        var s = new byte[1 + 2 * HandshakeLength];
        await _stream.ReadExactlyAsync(s, cancellationToken).ConfigureAwait(false);
        await SendAsync(s.AsMemory(1, HandshakeLength), cancellationToken).ConfigureAwait(false);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        // In pieces: a server that closes mid-way fails the write early instead of after megabytes.
        for (int offset = 0; offset < bytes.Length; offset += 64 * 1024)
        {
            var piece = bytes.Slice(offset, Math.Min(64 * 1024, bytes.Length - offset));
            await _stream.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _sent, piece.Length);
        }
    }

    /// <summary>Sends connect for <paramref name="app"/> and reads until the server's answer has arrived (or a timeout).</summary>
    public async Task ConnectCommandAsync(string app, CancellationToken cancellationToken = default)
    {
        await SendAsync(Chunks(3, 20, 0, 0, ConnectCommand(app), 128), cancellationToken).ConfigureAwait(false);
        // The _result comes after Window Ack Size, Set Peer Bandwidth and Set Chunk Size: wait for the bytes to arrive.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        var seen = new List<byte>();
        while (true)
        {
            int n = await _stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            if (n == 0) throw new IOException("server closed the connection before answering connect");
            seen.AddRange(buffer.AsSpan(0, n));
            if (Encoding.ASCII.GetString([.. seen]).Contains("_result", StringComparison.Ordinal)) return;
        }
    }

    /// <summary>True when the server closes the connection (EOF or reset) within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitClosedByServerAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                if (await _stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false) == 0) return true;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Resets the connection (RST, no FIN): an attacker does not wait for a graceful close.</summary>
    public ValueTask DisposeAsync()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        // The socket itself, not the stream: NetworkStream.Dispose shuts the socket down (a FIN) before closing it.
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Runs one hostile connection: TCP connect, handshake, the pattern, then holds the connection open until the server
    /// closes it or <see cref="HostileRtmpOptions.Hold"/> ends. Never throws for what the server does (a refused
    /// connection, a reset mid-send): that is the outcome.
    /// </summary>
    public static async Task<HostileRtmpOutcome> RunAsync(IPEndPoint server, HostileRtmpPattern pattern, int index, HostileRtmpOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new HostileRtmpOptions();
        var clock = Stopwatch.StartNew();
        bool handshaken = false;
        HostileRtmpClient? client = null;
        try
        {
            client = await ConnectAsync(server, options.Source, cancellationToken).ConfigureAwait(false);
            using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                handshakeTimeout.CancelAfter(TimeSpan.FromSeconds(10));
                await client.HandshakeAsync(handshakeTimeout.Token).ConfigureAwait(false);
            }
            handshaken = true;
            await PlayAsync(client, pattern, index, options, cancellationToken).ConfigureAwait(false);
            bool closed = await client.WaitClosedByServerAsync(options.Hold, cancellationToken).ConfigureAwait(false);
            return new HostileRtmpOutcome(pattern, index, handshaken, client.BytesSent, closed, clock.Elapsed, null);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The server reset or closed the connection while we were still sending: closed by the server.
            return new HostileRtmpOutcome(pattern, index, handshaken, client?.BytesSent ?? 0, true, clock.Elapsed, ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task PlayAsync(HostileRtmpClient client, HostileRtmpPattern pattern, int index, HostileRtmpOptions options, CancellationToken token)
    {
        int streams = Math.Clamp(options.ChunkStreams, 1, 61);
        switch (pattern)
        {
            case HostileRtmpPattern.ChunkStreams:
            {
                // One chunk per message (the chunk size is the message size at most): header, then the payload as is.
                const int chunkSize = 8 * 1024 * 1024;
                int length = Math.Min(options.MessageBytes, chunkSize);
                await client.SendAsync(SetChunkSize(chunkSize), token).ConfigureAwait(false);
                var payload = new byte[length];
                for (int csid = 3; csid < 3 + streams; csid++)
                {
                    await client.SendAsync(Header0(csid, 0, length, options.MessageType, 0), token).ConfigureAwait(false);
                    await client.SendAsync(payload, token).ConfigureAwait(false);
                }
                break;
            }
            case HostileRtmpPattern.HugeLengths:
            {
                // Even index: the declared length at once; odd: a declared 16 MiB - 1 (the most a header can say).
                int declared = index % 2 == 0 ? options.MessageBytes : 0xFFFFFF;
                await client.SendAsync(SetChunkSize(0x7FFFFFFF), token).ConfigureAwait(false);
                await client.SendAsync(Header0(3, 0, declared, options.MessageType, 0), token).ConfigureAwait(false);
                await client.SendAsync(new byte[4096], token).ConfigureAwait(false);
                break;
            }
            case HostileRtmpPattern.InterleavedPartials:
                await InterleaveAsync(client, streams, options, extended: false, token).ConfigureAwait(false);
                break;
            case HostileRtmpPattern.ExtendedTimestamps:
                await client.ConnectCommandAsync(options.App, token).ConfigureAwait(false);
                await InterleaveAsync(client, streams, options, extended: true, token).ConfigureAwait(false);
                break;
            case HostileRtmpPattern.Aggregates:
            {
                if (index % 2 == 1) await client.ConnectCommandAsync(options.App, token).ConfigureAwait(false);
                var aggregate = Aggregate(64, 1024);
                for (int i = 0; i < 16; i++) await client.SendAsync(Chunks(4, 22, (uint)(i * 40), 1, aggregate, 128), token).ConfigureAwait(false);
                break;
            }
            case HostileRtmpPattern.BeforeConnect:
            {
                byte[] message = (index % 6) switch
                {
                    0 => Chunks(3, 18, 0, 0, new byte[2000], 128),          // data (AMF0)
                    1 => Chunks(3, 19, 0, 0, new byte[2000], 128),          // shared object (AMF0)
                    2 => Chunks(3, 7, 0, 0, new byte[2000], 128),           // an unassigned type
                    3 => Chunks(2, 3, 0, 0, new byte[1024 * 1024], 128),    // acknowledgement of 1 MiB
                    4 => Chunks(2, 6, 0, 0, new byte[64 * 1024], 128),      // set peer bandwidth of 64 KiB
                    _ => Chunks(4, 8, 0, 1, new byte[2000], 128),           // audio
                };
                for (int i = 0; i < 8; i++) await client.SendAsync(message, token).ConfigureAwait(false);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(pattern), pattern, null);
        }
    }

    /// <summary>A first 128-byte chunk on each stream, then <see cref="HostileRtmpOptions.Rounds"/> rounds of one more each.</summary>
    private static async Task InterleaveAsync(HostileRtmpClient client, int streams, HostileRtmpOptions options, bool extended, CancellationToken token)
    {
        const int chunkSize = 128;
        const uint extendedTimestamp = 0x12345678;
        int declared = Math.Max(options.MessageBytes, chunkSize * (options.Rounds + 2));
        var body = new byte[chunkSize];
        var first = new List<byte>();
        for (int csid = 3; csid < 3 + streams; csid++)
        {
            first.AddRange(Header0(csid, extended ? extendedTimestamp : 0, declared, 20, 0));
            first.AddRange(body);
        }
        await client.SendAsync(first.ToArray(), token).ConfigureAwait(false);
        for (int round = 0; round < options.Rounds; round++)
        {
            var bytes = new List<byte>();
            for (int csid = 3; csid < 3 + streams; csid++)
            {
                bytes.Add((byte)(0xC0 | csid)); // type 3
                if (extended && round % 2 == 0)
                {
                    // The repeated extended timestamp (most encoders); odd rounds omit it (some encoders do).
                    bytes.AddRange([0x12, 0x34, 0x56, 0x78]);
                }
                bytes.AddRange(body);
            }
            if (extended && round == options.Rounds / 2)
            {
                // Abort the message on chunk stream 3 halfway (type 2, 4-byte chunk stream id).
                bytes.AddRange(Chunks(2, 2, 0, 0, [0, 0, 0, 3], chunkSize));
            }
            await client.SendAsync(bytes.ToArray(), token).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------ wire format (RTMP 1.0 §5.3), by hand

    /// <summary>A type-0 chunk header (one-byte chunk stream id 2-63), with an extended timestamp when it does not fit 24 bits.</summary>
    public static byte[] Header0(int csid, uint timestamp, int length, byte type, uint streamId)
    {
        if (csid is < 2 or > 63) throw new ArgumentOutOfRangeException(nameof(csid));
        bool extended = timestamp >= 0xFFFFFF;
        var header = new byte[12 + (extended ? 4 : 0)];
        header[0] = (byte)csid;
        WriteUInt24(header.AsSpan(1), extended ? 0xFFFFFF : timestamp);
        WriteUInt24(header.AsSpan(4), (uint)length);
        header[7] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), streamId);
        if (extended) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), timestamp);
        return header;
    }

    /// <summary>A whole message split into chunks of <paramref name="chunkSize"/> (type 0, then type 3 headers).</summary>
    public static byte[] Chunks(int csid, byte type, uint timestamp, uint streamId, ReadOnlySpan<byte> payload, int chunkSize)
    {
        bool extended = timestamp >= 0xFFFFFF;
        var bytes = new List<byte>(payload.Length + 16 + payload.Length / chunkSize * 5);
        bytes.AddRange(Header0(csid, timestamp, payload.Length, type, streamId));
        for (int offset = 0; offset < payload.Length || offset == 0; offset += chunkSize)
        {
            if (offset > 0)
            {
                bytes.Add((byte)(0xC0 | csid));
                if (extended) bytes.AddRange([(byte)(timestamp >> 24), (byte)(timestamp >> 16), (byte)(timestamp >> 8), (byte)timestamp]);
            }
            bytes.AddRange(payload.Slice(offset, Math.Min(chunkSize, payload.Length - offset)));
            if (payload.Length == 0) break;
        }
        return [.. bytes];
    }

    public static byte[] SetChunkSize(int size)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, size & 0x7FFFFFFF);
        return Chunks(2, 1, 0, 0, payload, 128);
    }

    /// <summary>An AMF0 connect command: "connect", transaction 1, {app, type, tcUrl}.</summary>
    public static byte[] ConnectCommand(string app)
    {
        var bytes = new List<byte>();
        void String(string value)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            bytes.Add((byte)(utf8.Length >> 8));
            bytes.Add((byte)utf8.Length);
            bytes.AddRange(utf8);
        }
        bytes.Add(0x02);
        String("connect");
        bytes.Add(0x00);
        bytes.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(BitConverter.DoubleToInt64Bits(1.0))));
        bytes.Add(0x03);
        foreach (var (key, value) in new[] { ("app", app), ("type", "nonprivate"), ("tcUrl", $"rtmp://127.0.0.1/{app}") })
        {
            String(key);
            bytes.Add(0x02);
            String(value);
        }
        bytes.AddRange([0x00, 0x00, 0x09]);
        return [.. bytes];
    }

    /// <summary>An aggregate payload (RTMP 1.0 §7.1.6): <paramref name="count"/> video sub-messages of <paramref name="size"/> bytes.</summary>
    public static byte[] Aggregate(int count, int size)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            var header = new byte[11];
            header[0] = 9;
            WriteUInt24(header.AsSpan(1), (uint)size);
            WriteUInt24(header.AsSpan(4), (uint)(i * 33));
            bytes.AddRange(header);
            var body = new byte[size];
            body[0] = 0x27; // inter frame, AVC
            bytes.AddRange(body);
            var back = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(back, (uint)(11 + size));
            bytes.AddRange(back);
        }
        return [.. bytes];
    }

    private static void WriteUInt24(Span<byte> span, uint value)
    {
        span[0] = (byte)(value >> 16);
        span[1] = (byte)(value >> 8);
        span[2] = (byte)value;
    }
}
