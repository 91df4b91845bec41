using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broadcast.Control.Chat;

/// <summary>
/// A chat event too large for one PostgreSQL notification (payloads must stay under 8000 bytes) travels in parts: its
/// JSON's UTF-8 bytes cut into pieces of <see cref="PartBytes"/>, each base64 in a small envelope
/// <c>{"node","part","index","count","data"}</c>, sent in order in one statement. The listening node puts them together
/// again (<see cref="Assembly"/>). An event of more than <see cref="MaxParts"/> parts is not sent, and says so.
/// </summary>
public static class ChatNotificationParts
{
    /// <summary>Bytes of the event in one part: base64 makes them 6,668 characters, and the envelope fits under 8000.</summary>
    public const int PartBytes = 5000;

    /// <summary>Parts one event may take (80,000 bytes): well past a 4,000-character message or a long ban list.</summary>
    public const int MaxParts = 16;

    // Base64's '+' and '/' as themselves: the default encoder would write '+' as six bytes and break the size bound.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
        { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One part as it travels.</summary>
    public sealed record Part(
        [property: JsonPropertyName("node")] string Node,
        [property: JsonPropertyName("part")] string Id,
        [property: JsonPropertyName("index")] int Index,
        [property: JsonPropertyName("count")] int Count,
        [property: JsonPropertyName("data")] string Data);

    /// <summary>The notifications that carry <paramref name="json"/>, or null when it needs more than <see cref="MaxParts"/>.</summary>
    public static IReadOnlyList<string>? Split(string json, string node, string id)
    {
        ArgumentNullException.ThrowIfNull(json);
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        int count = (bytes.Length + PartBytes - 1) / PartBytes;
        if (count is 0 or > MaxParts) return null;
        var parts = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            var slice = bytes.AsSpan(i * PartBytes, Math.Min(PartBytes, bytes.Length - i * PartBytes));
            parts.Add(JsonSerializer.Serialize(new Part(node, id, i, count, Convert.ToBase64String(slice)), Json));
        }

        return parts;
    }

    /// <summary>Whether a notification is a part (it has a <c>part</c> member) rather than a whole event.</summary>
    public static bool IsPart(JsonElement notification) =>
        notification.ValueKind == JsonValueKind.Object && notification.TryGetProperty("part", out _);

    /// <summary>
    /// The events being put together from their parts, by sending node and event. Bounded: at most
    /// <see cref="MaxPending"/> at once and each for <see cref="Lifetime"/> (a node that died mid-event leaves nothing
    /// behind for long); a part that does not fit what came before it drops its event.
    /// </summary>
    public sealed class Assembly(TimeProvider time)
    {
        public const int MaxPending = 64;

        public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

        private readonly Dictionary<(string Node, string Id), Pending> _pending = [];

        private sealed class Pending(int count, long startedAt)
        {
            public byte[]?[] Parts { get; } = new byte[]?[count];

            public int Received { get; set; }

            public long StartedAt { get; } = startedAt;
        }

        /// <summary>Events being put together now.</summary>
        public int Count => _pending.Count;

        /// <summary>
        /// Takes one part: the whole event's JSON once its last part came, else null. <paramref name="error"/> says why a
        /// part was refused (malformed, out of bounds, or not fitting its event), else is null.
        /// </summary>
        public string? Add(string notification, out string? error)
        {
            error = null;
            Part? part;
            try
            {
                part = JsonSerializer.Deserialize<Part>(notification, Json);
            }
            catch (JsonException e)
            {
                error = "a malformed part: " + e.Message;
                return null;
            }

            if (part is null || string.IsNullOrEmpty(part.Node) || string.IsNullOrEmpty(part.Id) || part.Data is null
                || part.Count is < 1 or > MaxParts || part.Index < 0 || part.Index >= part.Count)
            {
                error = "a part out of bounds";
                return null;
            }

            byte[] data;
            try
            {
                data = Convert.FromBase64String(part.Data);
            }
            catch (FormatException)
            {
                error = "a part whose data is not base64";
                return null;
            }

            if (data.Length > PartBytes)
            {
                error = "a part larger than a part may be";
                return null;
            }

            long now = time.GetTimestamp();
            Sweep(now);
            var key = (part.Node, part.Id);
            if (!_pending.TryGetValue(key, out var pending))
            {
                if (_pending.Count >= MaxPending)
                {
                    error = $"more than {MaxPending} events in parts at once";
                    return null;
                }

                _pending[key] = pending = new Pending(part.Count, now);
            }

            if (pending.Parts.Length != part.Count || pending.Parts[part.Index] is not null)
            {
                _pending.Remove(key);
                error = "a part that does not fit its event (another count, or sent twice)";
                return null;
            }

            pending.Parts[part.Index] = data;
            if (++pending.Received < part.Count) return null;
            _pending.Remove(key);
            var whole = new byte[pending.Parts.Sum(p => p!.Length)];
            int at = 0;
            foreach (var piece in pending.Parts)
            {
                piece!.CopyTo(whole, at);
                at += piece!.Length;
            }

            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(whole);
            }
            catch (DecoderFallbackException)
            {
                error = "an event whose parts are not UTF-8 together";
                return null;
            }
        }

        private void Sweep(long now)
        {
            foreach (var (key, pending) in _pending.ToList())
                if (time.GetElapsedTime(pending.StartedAt, now) > Lifetime) _pending.Remove(key);
        }
    }
}
