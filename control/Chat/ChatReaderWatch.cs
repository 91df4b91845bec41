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
/// <remarks>
/// It also keeps each viewer's chat no longer than its right to watch (<see cref="AccessCheckInterval"/>): a viewer who
/// joined a public channel's chat without a token is closed when the channel turns private, and one who joined with a
/// token when that token no longer verifies (a signing key rotated out); expiry closes it at once (<see cref="ChatHub"/>).
/// Moderators are not checked.
/// </remarks>
public sealed partial class ChatReaderWatch(IHubContext<ChatHub> hub, ChatOptions options, TimeProvider time, ILogger<ChatReaderWatch> logger,
    Playback.PlaybackAccessService? access = null)
    : BackgroundService
{
    /// <summary>How often each viewer's right to read is checked again: a chat turned private loses its tokenless readers within it.</summary>
    public static readonly TimeSpan AccessCheckInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Watched> _connections = new(StringComparer.Ordinal);
    private long _closed;
    private long _revoked;

    private sealed class Watched(HubCallerContext context, string slug, string? token, bool moderator)
    {
        /// <summary>The viewer's address, for a token bound to one.</summary>
        public System.Net.IPAddress? Client { get; } = context.GetHttpContext()?.Connection.RemoteIpAddress;

        public HubCallerContext Context { get; } = context;

        public string Slug { get; } = slug;

        /// <summary>The viewing token the viewer joined with; null for a public channel's viewer.</summary>
        public string? Token { get; } = token;

        public bool Moderator { get; } = moderator;

        public Task? Sync { get; set; }

        public long SyncSentAt { get; set; }
    }

    /// <summary>Connections closed for not reading, since start.</summary>
    public long StuckReadersClosed => Interlocked.Read(ref _closed);

    /// <summary>Connections watched now (joined to a channel's chat).</summary>
    public int Watching => _connections.Count;

    /// <summary>Connections closed because their viewer may no longer watch the channel, since start.</summary>
    public long ReadersRevoked => Interlocked.Read(ref _revoked);

    /// <summary>Watches a joined connection of <paramref name="slug"/>'s chat, joined with <paramref name="token"/> (null: none).</summary>
    public void Add(HubCallerContext context, string slug, string? token, bool moderator)
    {
        ArgumentNullException.ThrowIfNull(context);
        _connections[context.ConnectionId] = new Watched(context, slug, token, moderator);
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(EveryAsync(options.ReaderProbeInterval, Sweep, stoppingToken), EveryAsync(AccessCheckInterval, CheckAccess, stoppingToken));

    private async Task EveryAsync(TimeSpan interval, Action pass, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) pass();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: closes the viewers who may no longer watch their channel (turned private, or their token revoked).</summary>
    internal void CheckAccess()
    {
        if (access is null) return;
        foreach (var (id, watched) in _connections)
        {
            if (watched.Moderator || !access.IsPrivate(watched.Slug)) continue;
            string? why = watched.Token is null ? "the channel turned private"
                : access.Verify(watched.Slug,
                    watched.Token, watched.Client, out _) != Playback.PlaybackTokenResult.Valid ? "its viewing token no longer verifies" : null;
            if (why is null || !_connections.TryRemove(id, out _)) continue;
            Interlocked.Increment(ref _revoked);
            LogRevoked(id, why);
            watched.Context.Abort();
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

    [LoggerMessage(EventId = 7017, Level = LogLevel.Information, Message = "Chat connection {ConnectionId} closed: {Reason}")]
    private partial void LogRevoked(string connectionId, string reason);

    [LoggerMessage(EventId = 7015, Level = LogLevel.Warning,
        Message = "Chat connection {ConnectionId} closed: it has not read for {Seconds} s (its messages were piling up on this node)")]
    private partial void LogStuckReader(string connectionId, int seconds);
}
