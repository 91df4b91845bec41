using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Broadcast.ChatLoad;

/// <summary>One viewer of the chat: joins a channel, may post, and hands every message it is sent to <see cref="Deliveries"/>.</summary>
internal interface IChatViewer : IAsyncDisposable
{
    Task JoinAsync(string slug);

    /// <summary>Posts a message; false when the hub refused it (a HubException, e.g. a rate limit).</summary>
    Task<bool> SendAsync(string name, string text);

    /// <summary>Tells the hub the viewer is alive (the hub closes a connection silent for 30 s).</summary>
    Task PingAsync();
}

/// <summary>The .NET SignalR client (<see cref="HubConnection"/>), as an application would use it.</summary>
internal sealed class SignalRClientViewer(Uri hub, int node, Deliveries deliveries) : IChatViewer
{
    private HubConnection? _connection;

    public async Task JoinAsync(string slug)
    {
        var c = new HubConnectionBuilder().WithUrl(hub, o => o.Transports = HttpTransportType.WebSockets).Build();
        c.ServerTimeout = TimeSpan.FromSeconds(120);
        void OnMessage(Message m)
        {
            var now = Stopwatch.GetTimestamp();
            deliveries.Record(Encoding.UTF8.GetBytes(m.Text ?? ""), node, now);
        }

        c.On<Message>("message", OnMessage);
        // A busy chat's events come together (the server's ChatGroupDelivery); each counts as if it came alone.
        c.On<BatchItem[]>("batch", items =>
        {
            foreach (var item in items)
            {
                if (item.Method == "message" && item.Payload is not null) OnMessage(item.Payload);
            }
        });
        await c.StartAsync();
        await c.InvokeAsync<object>("Join", slug, null, null);
        _connection = c;
    }

    public async Task<bool> SendAsync(string name, string text)
    {
        try
        {
            await _connection!.InvokeAsync<object>("Send", name, text);
            return true;
        }
        catch (HubException)
        {
            return false;
        }
    }

    public Task PingAsync() => Task.CompletedTask; // the client pings by itself

    public ValueTask DisposeAsync() => _connection?.DisposeAsync() ?? ValueTask.CompletedTask;

    private sealed record Message(string Id, string Author, string Name, string Text, long At, bool Moderator);

    private sealed record BatchItem(string Method, Message? Payload);
}

/// <summary>
/// The hub's JSON protocol straight over a <see cref="ClientWebSocket"/>, as a browser's client speaks it without
/// negotiation: a handshake, then records ended by 0x1E. It reads each record once with <see cref="Utf8JsonReader"/> and
/// keeps nothing but the delay, so 2,000 viewers cost the shared cores a small part of what 2,000 .NET clients do, and
/// the servers under test keep the CPU. Only what the bench needs: invocations, completions, pings, close.
/// </summary>
public sealed class WebSocketViewer(Uri hub, int node, Deliveries deliveries) : IChatViewer
{
    private const byte RecordSeparator = 0x1e;
    private const int MaxRecordBytes = 1 << 20;
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly ConcurrentDictionary<int, TaskCompletionSource<bool>> _invocations = new();
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Range> _texts = [];
    private byte[] _buffer = new byte[8 * 1024];
    private int _nextInvocation;
    private Task? _receiving;

    public async Task JoinAsync(string slug)
    {
        // The SignalR client's pings serve instead of the WebSocket's own.
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _socket.Options.SetBuffer(4096, 4096);
        await _socket.ConnectAsync(new UriBuilder(hub) { Scheme = hub.Scheme == "https" ? "wss" : "ws" }.Uri, CancellationToken.None);
        _receiving = Task.Run(ReceiveAsync);
        await WriteAsync("{\"protocol\":\"json\",\"version\":1}\u001e");
        await _handshake.Task.WaitAsync(TimeSpan.FromSeconds(30));
        if (!await InvokeAsync("Join", slug, null, null)) throw new InvalidOperationException("the hub refused Join");
    }

    public Task<bool> SendAsync(string name, string text) => InvokeAsync("Send", name, text);

    public async Task PingAsync()
    {
        // A viewer the hub has closed is left alone: the deliveries it misses show in the counts, and the run goes on.
        if (_socket.State != WebSocketState.Open) return;
        try
        {
            await WriteAsync("{\"type\":6}\u001e");
        }
        catch (WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _sending.WaitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }

        _socket.Abort();
        if (_receiving is not null) await _receiving;
        _socket.Dispose();
    }

    private async Task<bool> InvokeAsync(string target, params string?[] arguments)
    {
        var id = Interlocked.Increment(ref _nextInvocation);
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invocations[id] = done;
        await WriteAsync($"{{\"type\":1,\"invocationId\":\"{id}\",\"target\":{JsonSerializer.Serialize(target)},\"arguments\":{JsonSerializer.Serialize(arguments)}}}\u001e");
        return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task WriteAsync(string record)
    {
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(record), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task ReceiveAsync()
    {
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == _buffer.Length)
                {
                    if (_buffer.Length >= MaxRecordBytes) throw new InvalidDataException("a hub record over 1 MiB");
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                var read = await _socket.ReceiveAsync(_buffer.AsMemory(filled), CancellationToken.None);
                if (read.MessageType == WebSocketMessageType.Close) break;
                filled += read.Count;
                var now = Stopwatch.GetTimestamp();
                var start = 0;
                int end;
                while ((end = Array.IndexOf(_buffer, RecordSeparator, start, filled - start)) >= 0)
                {
                    Handle(_buffer.AsSpan(start, end - start), now);
                    start = end + 1;
                }

                _buffer.AsSpan(start, filled - start).CopyTo(_buffer);
                filled -= start;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed under us: the run is over, or the server dropped the viewer (the deliveries it misses show in the counts).
        }
        finally
        {
            _handshake.TrySetException(new InvalidOperationException("the hub closed before its handshake"));
            foreach (var pending in _invocations.Values) pending.TrySetException(new InvalidOperationException("the hub closed"));
        }
    }

    private void Handle(ReadOnlySpan<byte> record, long now)
    {
        if (!_handshake.Task.IsCompleted)
        {
            if (record.IndexOf("\"error\""u8) >= 0) _handshake.TrySetException(new InvalidOperationException(Encoding.UTF8.GetString(record)));
            else _handshake.TrySetResult();
            return;
        }

        // {"type":1,"target":"message"|"batch","arguments":[...]} carries messages, each with a "text" somewhere below;
        // {"type":3,"invocationId":"n","result":...|"error":"..."} ends an invocation; 6 is a ping, 7 a close.
        var reader = new Utf8JsonReader(record);
        int type = 0, invocation = 0;
        bool error = false, messages = false;
        _texts.Clear();
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName) continue;
            if (reader.CurrentDepth == 1)
            {
                if (reader.ValueTextEquals("type"u8) && reader.Read()) type = reader.GetInt32();
                else if (reader.ValueTextEquals("target"u8) && reader.Read()) messages = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("batch"u8);
                else if (reader.ValueTextEquals("invocationId"u8) && reader.Read()) invocation = int.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                else if (reader.ValueTextEquals("error"u8)) error = true;
            }
            else if (reader.ValueTextEquals("text"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                // A bench text has nothing to escape; an escaped one is not the bench's and counts as foreign.
                var start = (int)reader.TokenStartIndex + 1;
                _texts.Add(reader.ValueIsEscaped ? new Range(0, 0) : new Range(start, start + reader.ValueSpan.Length));
            }
        }

        if (type == 1 && messages)
        {
            foreach (var text in _texts) deliveries.Record(record[text], node, now);
        }
        else if (type == 3 && _invocations.TryRemove(invocation, out var pending))
        {
            pending.TrySetResult(!error);
        }
    }
}
