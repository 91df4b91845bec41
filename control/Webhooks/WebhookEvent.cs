using System.Text;
using System.Text.Json;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Webhooks;

/// <summary>The event types a webhook endpoint may subscribe to (its list empty: all of them).</summary>
public static class WebhookEventTypes
{
    public const string BroadcastStarted = "broadcast.started";
    public const string BroadcastReconnecting = "broadcast.reconnecting";
    public const string BroadcastResumed = "broadcast.resumed";
    public const string BroadcastEnded = "broadcast.ended";
    public const string PublishRefused = "publish.refused";
    public const string RecordingReady = "recording.ready";
    public const string ClipReady = "clip.ready";
    public const string EventStarted = "event.started";
    public const string EventEnded = "event.ended";
    public const string ChannelCreated = "channel.created";
    public const string ChannelUpdated = "channel.updated";
    public const string ChannelDeleted = "channel.deleted";
    public const string StreamHealth = "stream.health";

    /// <summary>What "send test event" sends: to the one endpoint asked, whatever its subscriptions.</summary>
    public const string Test = "webhook.test";

    /// <summary>Every type an endpoint may subscribe to, in the order the docs list them.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        BroadcastStarted, BroadcastReconnecting, BroadcastResumed, BroadcastEnded, PublishRefused, RecordingReady, ClipReady,
        EventStarted, EventEnded, ChannelCreated, ChannelUpdated, ChannelDeleted, StreamHealth,
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string type) => Known.Contains(type);
}

/// <summary>
/// One event in the outbox: its id (<c>msg_</c> and a time-ordered row id, so ids sort in the order events happened on a
/// node), type, channel (null for none) and the JSON body every endpoint receives: <c>{"id","type","timestamp","data"}</c>,
/// the Standard Webhooks payload shape. The body is made once and sent byte for byte on every attempt, so a signature
/// and a receiver's deduplication by <c>webhook-id</c> hold across retries.
/// </summary>
public sealed record WebhookEvent(string Id, string Type, string? ChannelId, DateTimeOffset Timestamp, string Payload)
{
    public const string IdPrefix = "msg_";

    /// <summary>An event of <paramref name="type"/> that happened at <paramref name="at"/>; <paramref name="writeData"/> writes the data object's members.</summary>
    public static WebhookEvent Create(string type, string? channelId, DateTimeOffset at, Action<Utf8JsonWriter> writeData)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(writeData);
        var timestamp = Sql.Millis(at);
        string id = IdPrefix + RowId.New(timestamp);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("type", type);
            json.WriteString("timestamp", timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteStartObject("data");
            writeData(json);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return new WebhookEvent(id, type, channelId, timestamp, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Writes a time as the payloads write every time: ISO 8601 in UTC with milliseconds.</summary>
    public static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? at)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (at is { } value)
            json.WriteString(name, Sql.Millis(value).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        else json.WriteNull(name);
    }
}
