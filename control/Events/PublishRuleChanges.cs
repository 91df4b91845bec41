using System.Threading.Channels;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broadcast.Control.Events;

/// <summary>
/// "What may publish on this channel changed": an event of it was created, moved, cancelled, ended or deleted, or the
/// channel itself was changed or deleted. Told by the services that make those changes, heard by
/// <see cref="EventWindowEnforcer"/> on every ingest node, so a broadcast that no longer holds ends at once instead of
/// at the next poll.
/// </summary>
public interface IPublishRuleChanges
{
    /// <summary>A channel's rules changed (its slug), or null: every channel's may have (a missed notification is possible).</summary>
    event Action<string?>? Changed;

    /// <summary>Tells this node and every other node that the rules of the channel with this slug changed.</summary>
    void Announce(string slug);
}

/// <summary>One node (SQLite): the change is heard where it is made.</summary>
public sealed class LocalPublishRuleChanges : IPublishRuleChanges
{
    public event Action<string?>? Changed;

    public void Announce(string slug) => Changed?.Invoke(slug);
}

/// <summary>
/// Across nodes through PostgreSQL, the way chat travels: a change is heard on this node at once and queued for
/// <c>NOTIFY broadcast_publish_rules</c> ("{node} {slug}"); one connection holds <c>LISTEN broadcast_publish_rules</c> and
/// hands other nodes' changes on. Nothing is lost silently: after the LISTEN connection comes back, or after this node
/// could not send (or dropped) a notification, every node is told to check every channel (a null change), which is what
/// makes a periodic sweep unnecessary.
/// </summary>
public sealed partial class PostgresPublishRuleChanges : BackgroundService, IPublishRuleChanges
{
    /// <summary>The PostgreSQL notification channel.</summary>
    public const string ChannelName = "broadcast_publish_rules";

    private const string Everything = "*";
    private const int Capacity = 1024;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly string _node = Guid.NewGuid().ToString("N")[..12];
    private readonly Channel<string> _outgoing;
    private int _lost;

    public PostgresPublishRuleChanges(string connectionString, ILogger<PostgresPublishRuleChanges> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _connectionString = connectionString;
        _logger = logger;
        _outgoing = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true },
            _ => Volatile.Write(ref _lost, 1));
    }

    public event Action<string?>? Changed;

    /// <summary>Whether the LISTEN connection is up.</summary>
    public bool Listening { get; private set; }

    public void Announce(string slug)
    {
        ArgumentException.ThrowIfNullOrEmpty(slug);
        Changed?.Invoke(slug);
        _outgoing.Writer.TryWrite(slug);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => Task.WhenAll(ListenAsync(stoppingToken), NotifyAsync(stoppingToken));

    private async Task NotifyAsync(CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        var failing = false;
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // After a loss the others learn that anything may have changed; the queued slugs are then covered too.
                var slug = Interlocked.Exchange(ref _lost, 0) == 1 ? Everything : _outgoing.Reader.TryPeek(out var next) ? next : null;
                if (slug is null) continue;
                try
                {
                    await using var connection = new NpgsqlConnection(_connectionString);
                    await connection.OpenAsync(stoppingToken).ConfigureAwait(false);
                    await using var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection);
                    command.Parameters.Add(new NpgsqlParameter { Value = ChannelName });
                    command.Parameters.Add(new NpgsqlParameter { Value = _node + " " + slug });
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                    if (slug == Everything)
                    {
                        while (_outgoing.Reader.TryRead(out _))
                        {
                        }
                    }
                    else
                    {
                        _outgoing.Reader.TryRead(out _);
                    }

                    delay = FirstRetryDelay;
                    failing = false;
                }
                catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or InvalidOperationException
                    or TimeoutException)
                {
                    if (!failing) LogNotifyFailed(e.Message);
                    failing = true;
                    Volatile.Write(ref _lost, 1);
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await PostgresListener.RunAsync(_connectionString, ChannelName, OnNotification,
            reconnected =>
            {
                Listening = true;
                LogListening(ChannelName, reconnected);
                // Whatever was announced while this node was not listening: check every broadcast here.
                if (reconnected) Changed?.Invoke(null);
            },
            (e, firstFailure) =>
            {
                Listening = false;
                if (firstFailure) LogListenLost(e.Message);
            },
            FirstRetryDelay, MaxRetryDelay, stoppingToken).ConfigureAwait(false);
        Listening = false;
    }

    private void OnNotification(object? sender, NpgsqlNotificationEventArgs e)
    {
        var space = e.Payload.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space == e.Payload.Length - 1 || e.Payload.AsSpan(0, space).SequenceEqual(_node)) return;
        var slug = e.Payload[(space + 1)..];
        Changed?.Invoke(slug == Everything ? null : slug);
    }

    [LoggerMessage(EventId = 3108, Level = LogLevel.Information,
        Message = "Listening for publish rule changes on PostgreSQL channel {Channel} (reconnected: {Reconnected})")]
    private partial void LogListening(string channel, bool reconnected);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Warning,
        Message = "Publish rule changes from other nodes unavailable ({Reason}); reconnecting, then every broadcast here is checked")]
    private partial void LogListenLost(string reason);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Warning,
        Message = "Telling other nodes of a publish rule change failed ({Reason}); retrying, then every node checks every broadcast")]
    private partial void LogNotifyFailed(string reason);
}
