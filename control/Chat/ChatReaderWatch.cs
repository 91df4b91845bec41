using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>
/// Drops a chat viewer who stops reading. SignalR queues a connection's sends behind the one its transport cannot flush,
/// without bound: a client that keeps its connection open (its pings still arrive) but never reads would make this node
/// hold every message sent since. Every <see cref="ChatOptions.ReaderProbeInterval"/> each joined connection is sent a
/// tiny <c>sync</c> message; one whose last <c>sync</c> is still not written after <see cref="ChatOptions.StuckReaderTimeout"/>
/// has fallen that far behind and is closed (event 7015). A page that was only slow reconnects and gets the recent
/// history, as after any drop. Group sends are unaffected: they never wait on any one connection.
/// </summary>
public sealed partial class ChatReaderWatch(IHubContext<ChatHub> hub, ChatOptions options, TimeProvider time, ILogger<ChatReaderWatch> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, Watched> _connections = new(StringComparer.Ordinal);
    private long _closed;

    private sealed class Watched(HubCallerContext context)
    {
        public HubCallerContext Context { get; } = context;

        public Task? Sync { get; set; }

        public long SyncSentAt { get; set; }
    }

    /// <summary>Connections closed for not reading, since start.</summary>
    public long StuckReadersClosed => Interlocked.Read(ref _closed);

    /// <summary>Connections watched now (joined to a channel's chat).</summary>
    public int Watching => _connections.Count;

    public void Add(HubCallerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _connections[context.ConnectionId] = new Watched(context);
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ReaderProbeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) Sweep();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: closes the connections whose last sync is overdue, and sends a sync to every other one.</summary>
    internal void Sweep()
    {
        long now = time.GetTimestamp();
        foreach (var (id, watched) in _connections)
        {
            if (watched.Sync is { IsCompleted: false })
            {
                var behind = time.GetElapsedTime(watched.SyncSentAt, now);
                if (behind < options.StuckReaderTimeout) continue;
                _connections.TryRemove(id, out _);
                Interlocked.Increment(ref _closed);
                LogStuckReader(id, (int)behind.TotalSeconds);
                watched.Context.Abort();
                continue;
            }
            watched.SyncSentAt = now;
            var sync = hub.Clients.Client(id).SendAsync("sync");
            // A send to a connection that closed meanwhile fails: that is for its own disconnect to clean up.
            if (!sync.IsCompleted) _ = sync.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            watched.Sync = sync;
        }
    }

    [LoggerMessage(EventId = 7015, Level = LogLevel.Warning, Message = "Chat connection {ConnectionId} closed: it has not read for {Seconds} s (its messages were piling up on this node)")]
    private partial void LogStuckReader(string connectionId, int seconds);
}
