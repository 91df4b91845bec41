using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Chat;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Chat;

/// <summary>
/// A chat viewer who stops reading is dropped, and nobody else notices. The stuck viewer is a real WebSocket that joins
/// the chat, keeps pinging (so SignalR's own client timeout never fires) and never reads, with a 4 KB receive buffer so
/// its TCP window closes after a few messages. A sender posts 4,000-character messages; once the stuck connection's
/// messages have waited Chat:StuckReaderTimeoutSeconds unwritten the server closes it, and a reading viewer got every
/// message throughout. Bounded: at most 2,000 messages (1,500 at once, then one per 100 ms) and 60 s, on loopback.
/// </summary>
public sealed class ChatStuckReaderTests
{
    private const char RecordSeparator = '\u001e';

    [Fact]
    public async Task A_viewer_who_stops_reading_is_closed_and_the_others_keep_every_message()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false", "--Chat:ReaderProbeIntervalSeconds=1",
            "--Chat:StuckReaderTimeoutSeconds=3", "--Chat:MaxMessageLength=4000", "--Chat:ChannelMessagesPerSecond=1000", "--Chat:ChannelBurst=2000",
            "--Chat:ViewerMessagesPerMinute=100000", "--Chat:ViewerBurst=2000", "--Chat:AddressMessagesPerMinute=100000", "--Chat:AddressBurst=4000");
        string slug = (await server.CreateChannelAsync("Busy Chat")).Slug;
        var watch = server.Services.GetRequiredService<ChatReaderWatch>();

        await using var reader = await ChatHubClient.ConnectAsync(server);
        int received = 0;
        reader.OnEvent("message", _ => Interlocked.Increment(ref received));
        await reader.InvokeAsync<JsonElement>("Join", slug, null, null);
        await using var sender = await ChatHubClient.ConnectAsync(server);
        await sender.InvokeAsync<JsonElement>("Join", slug, null, null);

        using var stuck = await StuckViewer.JoinAsync(server, slug);
        await WaitFor.ConditionAsync(() => Task.FromResult(watch.Watching == 3), TimeSpan.FromSeconds(30), "three joined connections watched");

        // A burst (6 MB, more than the loopback socket buffers take), then a message every 100 ms while the backlog ages.
        string text = new('x', 4000);
        int sent = 0;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (watch.StuckReadersClosed == 0 && sent < 2000 && !bound.IsCancellationRequested)
        {
            await sender.InvokeAsync<JsonElement>("Send", "sender", text, bound.Token);
            sent++;
            if (sent >= 1500) await Task.Delay(100, bound.Token);
        }
        Assert.True(watch.StuckReadersClosed == 1, $"the stuck viewer was not closed after {sent} messages ({watch.StuckReadersClosed} closed)");
        // Its connection is gone: reading now drains what was in flight and then finds the end.
        Assert.True(await stuck.ReadsToTheEndAsync(TimeSpan.FromSeconds(30)), "the stuck viewer's connection was still open");

        // The reading viewer and the sender were never taken for stuck ones, and the reader has every message.
        await sender.InvokeAsync<JsonElement>("Send", "sender", "after", CancellationToken.None);
        sent++;
        await WaitFor.ConditionAsync(() => Task.FromResult(Volatile.Read(ref received) == sent), TimeSpan.FromSeconds(30),
            "the reading viewer to have every message", () => $"{Volatile.Read(ref received)} of {sent}");
        Assert.Equal(HubConnectionState.Connected, reader.State);
        Assert.Equal(HubConnectionState.Connected, sender.State);
        Assert.Equal(1, watch.StuckReadersClosed);
        Assert.Equal(2, watch.Watching);
    }

    /// <summary>A SignalR client over a plain WebSocket that joins and then only pings, with a tiny receive buffer.</summary>
    private sealed class StuckViewer : IDisposable
    {
        private readonly ClientWebSocket _socket;
        private readonly HttpMessageInvoker _invoker;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pings;

        private StuckViewer(ClientWebSocket socket, HttpMessageInvoker invoker)
        {
            _socket = socket;
            _invoker = invoker;
            _pings = Task.Run(async () =>
            {
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        await Task.Delay(1000, _stop.Token); // SignalR's own keep-alive cadence, more often than its client timeout
                        await SendAsync("{\"type\":6}");
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
                {
                }
            });
        }

        public static async Task<StuckViewer> JoinAsync(InProcessServer server, string slug)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            var invoker = new HttpMessageInvoker(handler);
            var socket = new ClientWebSocket();
            var uri = new UriBuilder(new Uri(server.BaseAddress, ChatServiceCollectionExtensions.HubPath)) { Scheme = "ws" }.Uri;
            await socket.ConnectAsync(uri, invoker, CancellationToken.None);
            var viewer = new StuckViewer(socket, invoker);
            await viewer.SendAsync("{\"protocol\":\"json\",\"version\":1}");
            await viewer.SendAsync($"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Join\",\"arguments\":[\"{slug}\",null,null]}}");
            return viewer;
        }

        private readonly SemaphoreSlim _sending = new(1, 1);

        /// <summary>Reads (at last) until the server's close or a reset; false if the connection still delivers after <paramref name="bound"/>.</summary>
        public async Task<bool> ReadsToTheEndAsync(TimeSpan bound)
        {
            using var timeout = new CancellationTokenSource(bound);
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer, timeout.Token);
                    if (result.MessageType == WebSocketMessageType.Close) return true;
                }
            }
            catch (WebSocketException)
            {
                return true; // reset, not closed politely: aborted
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private async Task SendAsync(string message)
        {
            await _sending.WaitAsync();
            try
            {
                await _socket.SendAsync(Encoding.UTF8.GetBytes(message + RecordSeparator), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _sending.Release();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            try { _pings.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
            _socket.Abort();
            _socket.Dispose();
            _invoker.Dispose();
            _stop.Dispose();
            _sending.Dispose();
        }
    }
}
