using Broadcast.TestSupport;
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>A minimal RTMP publisher over a raw socket, built from the wire-format types, for component tests.</summary>
internal sealed class RtmpTestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly ChunkStreamReader _reader = new();
    private readonly ChunkStreamWriter _writer = new();
    private byte[] _pending = [];
    private double _nextTransaction = 1;

    private RtmpTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static Task<RtmpTestClient> ConnectAsync(IPEndPoint endPoint) => ConnectAsync(endPoint, null);

    /// <summary>
    /// Connects from <paramref name="source"/> (e.g. 127.0.0.2: Linux routes all of 127/8 to loopback); a
    /// <paramref name="receiveBufferSize"/> above 0 is set before the connection, so the window it offers is that small.
    /// </summary>
    public static async Task<RtmpTestClient> ConnectAsync(IPEndPoint endPoint, IPAddress? source, int receiveBufferSize = 0)
    {
        var tcp = source is null ? new TcpClient() : new TcpClient(new IPEndPoint(source, 0));
        if (receiveBufferSize > 0) tcp.ReceiveBufferSize = receiveBufferSize;
        await tcp.ConnectAsync(endPoint.Address, endPoint.Port);
        tcp.NoDelay = true;
        return new RtmpTestClient(tcp);
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public void ShutdownSend() => _tcp.Client.Shutdown(SocketShutdown.Send);

    /// <summary>The client's socket, for tests that play a misbehaving peer (a tiny receive buffer, say).</summary>
    public Socket Socket => _tcp.Client;

    /// <summary>Plain or digest handshake; returns S1 and S2 for the caller to check.</summary>
    public async Task<(byte[] S1, byte[] S2, byte[] C1)> HandshakeAsync(HandshakeDigestScheme scheme = HandshakeDigestScheme.None)
    {
        var c1 = scheme == HandshakeDigestScheme.None ? new byte[HandshakePacket.Length] : HandshakeTests.DigestC1(scheme, 11);
        if (scheme == HandshakeDigestScheme.None) new Random(5).NextBytes(c1.AsSpan(8));
        await SendRawAsync([3, .. c1]);
        var response = await ReadExactlyAsync(HandshakeResponder.ServerHelloLength);
        Assert.Equal(3, response[0]);
        var s1 = response.AsSpan(1, HandshakePacket.Length).ToArray();
        var s2 = response.AsSpan(1 + HandshakePacket.Length).ToArray();
        await SendRawAsync(s1); // C2 echoes S1
        return (s1, s2, c1);
    }

    public Task SendMessageAsync(int csid, byte typeId, uint timestamp, uint streamId, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        _writer.Write(buffer, csid, typeId, timestamp, streamId, payload);
        return SendRawAsync(buffer.WrittenSpan.ToArray());
    }

    public Task SendCommandAsync(string name, object? commandObject, uint streamId = 0, params object?[] arguments)
    {
        var command = new RtmpCommand(name, _nextTransaction++, commandObject, arguments);
        return SendMessageAsync(streamId == 0 ? 3 : 8, RtmpMessageType.CommandAmf0, 0, streamId, Hex.Written(command.Write));
    }

    public sealed record Message(byte TypeId, uint StreamId, byte[] Payload)
    {
        public RtmpCommand? Command => TypeId == RtmpMessageType.CommandAmf0 && RtmpCommand.TryRead(Payload, false, out var c, out _, out _) ? c : null;
    }

    public async Task<Message> ReadMessageAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_pending);
            var status = _reader.TryRead(ref sequence, out var m);
            _pending = sequence.ToArray();
            if (status == ChunkReadStatus.Message) return new Message(m.TypeId, m.MessageStreamId, m.Payload.ToArray());
            Assert.Equal(ChunkReadStatus.NeedMoreData, status);
            int n = await _stream.ReadAsync(buffer, cts.Token);
            if (n == 0) throw new EndOfStreamException("server closed the connection");
            _pending = [.. _pending, .. buffer.AsSpan(0, n)];
        }
    }

    public async Task<RtmpCommand> WaitForCommandAsync(Func<RtmpCommand, bool> match)
    {
        while (true)
        {
            var command = (await ReadMessageAsync()).Command;
            if (command is not null && match(command)) return command;
        }
    }

    public static string? StatusCode(RtmpCommand command) =>
        command.Arguments.Count > 0 && command.Arguments[0] is AmfObject info ? info["code"] as string : null;

    /// <summary>connect → createStream → publish; returns the onStatus answer to publish.</summary>
    public async Task<RtmpCommand> PublishAsync(string app, string key)
    {
        await SendCommandAsync("connect", new AmfObject { ["app"] = app, ["type"] = "nonprivate", ["tcUrl"] = $"rtmp://127.0.0.1/{app}" });
        var connect = await WaitForCommandAsync(c => c.Name is "_result" or "_error");
        Assert.Equal(RtmpStatusCodes.ConnectSuccess, StatusCode(connect));
        await SendCommandAsync("releaseStream", null, 0, key);
        await SendCommandAsync("FCPublish", null, 0, key);
        await SendCommandAsync("createStream", null);
        var created = await WaitForCommandAsync(c => c.Name == "_result" && c.Arguments.Count == 1 && c.Arguments[0] is double);
        uint streamId = (uint)(double)created.Arguments[0]!;
        await SendCommandAsync("publish", null, streamId, key, "live");
        return await WaitForCommandAsync(c => c.Name == "onStatus");
    }

    /// <summary>True when the server closes the socket (EOF or reset) within the timeout.</summary>
    public async Task<bool> WaitClosedByServerAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                if (await _stream.ReadAsync(buffer, cts.Token) == 0) return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var result = new byte[count];
        await _stream.ReadExactlyAsync(result, cts.Token);
        return result;
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
