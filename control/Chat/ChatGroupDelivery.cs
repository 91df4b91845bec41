using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Chat;

/// <summary>One event of a <see cref="ChatGroupDelivery.BatchMethod"/> invocation: what it would have been sent alone.</summary>
public sealed record ChatBatchItem(string Method, object Payload);

/// <summary>
/// Sends chat events to a channel's hub groups, coalescing a busy group's events into one invocation per
/// <c>Chat:DeliveryBatchMilliseconds</c>. Every event costs each viewer's connection one WebSocket frame and one send;
/// at 50 messages a second and 2,000 viewers that is 100,000 sends a second. An event that finds its group idle for a
/// window goes out at once, alone, as before; events that follow within the window wait for its end and go out together
/// as <see cref="BatchMethod"/> <c>[{"method","payload"}…]</c>, in the order they came. So a quiet chat is as immediate
/// as ever and a busy one costs a send per window per viewer, adding at most one window to a message's way.
/// Each group has one sender loop, so events never overtake each other (a <c>removed</c> never before its <c>message</c>).
/// </summary>
public sealed class ChatGroupDelivery : IAsyncDisposable
{
    /// <summary>The hub method of a coalesced delivery; its one argument is the events, oldest first.</summary>
    public const string BatchMethod = "batch";

    /// <summary>Events in one batch at most; more wait for the next window.</summary>
    public const int MaxBatch = 512;

    // Per group, at most this many events wait (a group's input is already capped by Chat:ChannelMessagesPerSecond);
    // past it the oldest are dropped and counted, so a stalled loop cannot grow memory.
    private const int QueueCapacity = 8192;

    private readonly Action<string, string, object> _send;
    private readonly TimeSpan _window;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Lazy: GetOrAdd may run its factory twice under a race, and a group starts its loop when made.
    private readonly ConcurrentDictionary<string, Lazy<Group>> _groups = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _dropped;

    public ChatGroupDelivery(IHubContext<ChatHub> hub, ChatOptions options, TimeProvider time, ILogger<ChatGroupDelivery> logger)
        : this(SendThrough(hub), options.DeliveryBatchWindow, time, logger)
    {
    }

    /// <param name="send">Sends one invocation to a group: (group, method, argument). It must not block.</param>
    public ChatGroupDelivery(Action<string, string, object> send, TimeSpan window, TimeProvider time, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(time);
        _send = send;
        _window = window < TimeSpan.Zero ? TimeSpan.Zero : window;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Events dropped because a group's queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Deliver(string channelId, ChatAudience audience, string method, object payload)
    {
        var name = ChatGroups.Of(channelId, audience);
        if (_window == TimeSpan.Zero)
        {
            _send(name, method, payload);
            return;
        }

        if (_stopping.IsCancellationRequested) return; // shutting down: no new loop
        var group = _groups.GetOrAdd(name, static (n, self) => new Lazy<Group>(() => new Group(n, self)), this).Value;
        group.Queue.Writer.TryWrite(new ChatBatchItem(method, payload));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        var groups = _groups.Values.Where(g => g.IsValueCreated).Select(g => g.Value).ToArray();
        foreach (var group in groups) group.Queue.Writer.TryComplete();
        await Task.WhenAll(groups.Select(g => g.Loop)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static Action<string, string, object> SendThrough(IHubContext<ChatHub> hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        return (group, method, payload) =>
        {
            // Fire and forget: the group send completes when the slowest connection took the message; nobody waits on it.
            var send = hub.Clients.Group(group).SendAsync(method, payload);
            if (!send.IsCompleted) _ = send.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        };
    }

    private async Task RunAsync(Group group)
    {
        var reader = group.Queue.Reader;
        var batch = new List<ChatBatchItem>(16);
        long lastSent = 0;
        bool sentBefore = false;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (sentBefore)
                {
                    var idle = _time.GetElapsedTime(lastSent);
                    if (idle < _window) await Task.Delay(_window - idle, _time, _stopping.Token).ConfigureAwait(false);
                }

                batch.Clear();
                while (batch.Count < MaxBatch && reader.TryRead(out var item)) batch.Add(item);
                if (batch.Count == 0) continue;
                lastSent = _time.GetTimestamp();
                sentBefore = true;
                try
                {
                    if (batch.Count == 1) _send(group.Name, batch[0].Method, batch[0].Payload);
                    else _send(group.Name, BatchMethod, batch.ToArray());
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The group's loop outlives one failed send: a later event must not be lost with it.
                    ChatLog.DeliveryFailed(_logger, group.Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private sealed class Group
    {
        public Group(string name, ChatGroupDelivery owner)
        {
            Name = name;
            Queue = Channel.CreateBounded<ChatBatchItem>(new BoundedChannelOptions(QueueCapacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            }, _ => Interlocked.Increment(ref owner._dropped));
            Loop = Task.Run(() => owner.RunAsync(this));
        }

        public string Name { get; }

        public Channel<ChatBatchItem> Queue { get; }

        public Task Loop { get; }
    }
}
