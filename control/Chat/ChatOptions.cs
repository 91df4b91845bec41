using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Chat;

/// <summary>
/// The <c>Chat:</c> configuration keys: limits that protect the server from an anonymous, writable surface.
/// Per-channel choices (mode, slow mode, links, blocked words) live in the database (<see cref="ChatRoomSettings"/>).
/// </summary>
public sealed record ChatOptions
{
    /// <summary><c>Chat:Enabled</c>: the chat hub and its routes (default on).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary><c>Chat:MaxMessageLength</c>: characters (UTF-16 code units) in one message after trimming.</summary>
    public int MaxMessageLength { get; init; } = 500;

    /// <summary><c>Chat:MaxNameLength</c>: characters in a display name.</summary>
    public int MaxNameLength { get; init; } = 32;

    /// <summary><c>Chat:ViewerMessagesPerMinute</c>, <c>Chat:ViewerBurst</c>: one viewer's token bucket.</summary>
    public double ViewerMessagesPerMinute { get; init; } = 20;

    public int ViewerBurst { get; init; } = 5;

    /// <summary><c>Chat:AddressMessagesPerMinute</c>, <c>Chat:AddressBurst</c>: one client address (all its viewer ids).</summary>
    public double AddressMessagesPerMinute { get; init; } = 120;

    public int AddressBurst { get; init; } = 20;

    /// <summary><c>Chat:ChannelMessagesPerSecond</c>, <c>Chat:ChannelBurst</c>: everything one channel takes in.</summary>
    public double ChannelMessagesPerSecond { get; init; } = 50;

    public int ChannelBurst { get; init; } = 100;

    /// <summary><c>Chat:ReactionsPerSecond</c>: reactions one connection may send (extras are dropped silently).</summary>
    public double ReactionsPerSecond { get; init; } = 10;

    /// <summary><c>Chat:ReactionFlushMilliseconds</c>: how often the summed reactions of a channel go out.</summary>
    public int ReactionFlushMilliseconds { get; init; } = 250;

    /// <summary><c>Chat:HistoryCount</c>: recent messages a joining viewer gets.</summary>
    public int HistoryCount { get; init; } = 50;

    /// <summary><c>Chat:RetentionDays</c>: messages and questions older than this are deleted (hourly); null keeps them.</summary>
    public TimeSpan? Retention { get; init; }

    /// <summary>
    /// <c>Chat:FreshViewerWaitMinutes</c> (default 10, 0 turns it off): on a channel where a viewer was banned or timed
    /// out, a viewer id minted since then and less than this ago, from that viewer's address (an IPv6 /64), may read but
    /// not post, so a private window is no way around a ban. Viewers who had their id before the sanction are not held.
    /// </summary>
    public int FreshViewerWaitMinutes { get; init; } = 10;

    /// <summary><c>Chat:MaxConnectionsPerAddress</c>: open hub connections from one client address (an IPv6 /64).</summary>
    public int MaxConnectionsPerAddress { get; init; } = 100;

    /// <summary><c>Chat:MaxConnections</c>: open hub connections on this node: the bound on what the hub's buffers may hold.</summary>
    public int MaxConnections { get; init; } = 20_000;

    /// <summary><c>Chat:ReaderProbeIntervalSeconds</c>: how often each joined connection is checked for reading
    /// (<see cref="ChatReaderWatch"/>).</summary>
    public TimeSpan ReaderProbeInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>Chat:StuckReaderTimeoutSeconds</c>: a connection whose messages have waited this long to be written is closed.</summary>
    public TimeSpan StuckReaderTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>Chat:DeliveryBatchMilliseconds</c>: a busy channel's events go to its viewers together once per this window
    /// (<see cref="ChatGroupDelivery"/>); 0 sends every event alone.
    /// </summary>
    public TimeSpan DeliveryBatchWindow { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>Chat:Fanout</c>: <c>local</c> (one node) or <c>postgres</c> (LISTEN/NOTIFY across nodes; the default on PostgreSQL).</summary>
    public string? Fanout { get; init; }

    public static ChatOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var d = new ChatOptions();
        var s = configuration.GetSection("Chat");
        return new ChatOptions
        {
            Enabled = Bool(s, "Enabled", d.Enabled),
            MaxMessageLength = Int(s, "MaxMessageLength", d.MaxMessageLength, 1, 4000),
            MaxNameLength = Int(s, "MaxNameLength", d.MaxNameLength, 1, 100),
            ViewerMessagesPerMinute = Number(s, "ViewerMessagesPerMinute", d.ViewerMessagesPerMinute),
            ViewerBurst = Int(s, "ViewerBurst", d.ViewerBurst, 1, 10_000),
            AddressMessagesPerMinute = Number(s, "AddressMessagesPerMinute", d.AddressMessagesPerMinute),
            AddressBurst = Int(s, "AddressBurst", d.AddressBurst, 1, 100_000),
            ChannelMessagesPerSecond = Number(s, "ChannelMessagesPerSecond", d.ChannelMessagesPerSecond),
            ChannelBurst = Int(s, "ChannelBurst", d.ChannelBurst, 1, 1_000_000),
            ReactionsPerSecond = Number(s, "ReactionsPerSecond", d.ReactionsPerSecond),
            ReactionFlushMilliseconds = Int(s, "ReactionFlushMilliseconds", d.ReactionFlushMilliseconds, 50, 10_000),
            HistoryCount = Int(s, "HistoryCount", d.HistoryCount, 0, 500),
            FreshViewerWaitMinutes = Int(s, "FreshViewerWaitMinutes", d.FreshViewerWaitMinutes, 0, 24 * 60),
            MaxConnectionsPerAddress = Int(s, "MaxConnectionsPerAddress", d.MaxConnectionsPerAddress, 1, 1_000_000),
            MaxConnections = Int(s, "MaxConnections", d.MaxConnections, 1, 10_000_000),
            ReaderProbeInterval = TimeSpan.FromSeconds(Int(s, "ReaderProbeIntervalSeconds", (int)d.ReaderProbeInterval.TotalSeconds, 1, 3600)),
            StuckReaderTimeout = TimeSpan.FromSeconds(Int(s, "StuckReaderTimeoutSeconds", (int)d.StuckReaderTimeout.TotalSeconds, 1, 3600)),
            DeliveryBatchWindow = TimeSpan.FromMilliseconds(Int(s, "DeliveryBatchMilliseconds", (int)d.DeliveryBatchWindow.TotalMilliseconds, 0,
                1000)),
            Retention = s["RetentionDays"] is { Length: > 0 } days
                ? double.TryParse(days, NumberStyles.Float, CultureInfo.InvariantCulture, out var dd) && dd > 0
                    && dd <= 36_500 ? TimeSpan.FromDays(dd)
                    : throw new InvalidOperationException($"Chat:RetentionDays '{days}' is not a number of days above 0.")
                : null,
            Fanout = string.IsNullOrWhiteSpace(s["Fanout"]) ? null
                : s["Fanout"]!.Trim().ToLowerInvariant() is "local" or "postgres" ? s["Fanout"]!.Trim().ToLowerInvariant()
                : throw new InvalidOperationException($"Chat:Fanout '{s["Fanout"]}' must be 'local' or 'postgres'."),
        };
    }

    private static bool Bool(IConfigurationSection s, string key, bool fallback)
        => s[key] is not { Length: > 0 } v ? fallback
            : bool.TryParse(v, out var b) ? b : throw new InvalidOperationException($"Chat:{key} '{v}' is not true or false.");

    private static int Int(IConfigurationSection s, string key, int fallback, int min, int max)
        => s[key] is not { Length: > 0 } v ? fallback
            : int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i >= min && i <= max ? i
            : throw new InvalidOperationException($"Chat:{key} '{v}' must be a whole number from {min} to {max}.");

    private static double Number(IConfigurationSection s, string key, double fallback)
        => s[key] is not { Length: > 0 } v ? fallback
            : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= 1_000_000 ? n
            : throw new InvalidOperationException($"Chat:{key} '{v}' must be a number above 0 and at most 1000000.");
}
