using System.Text.Json;

namespace Broadcast.Origin.EdgeLog;

/// <summary>How a datagram of an edge's access log was read.</summary>
public enum EdgeLogParse
{
    Read,
    /// <summary>Not a syslog frame holding one JSON object of the fields below, or a field too long for its buffer.</summary>
    Malformed,
    /// <summary>Longer than <see cref="EdgeAccessLogLine.MaxBytes"/>.</summary>
    TooLong,
}

/// <summary>
/// One request an edge answered, as its access log line says: spans into the caller's buffer, empty where the line had
/// no value (nginx writes an absent header as an empty string).
/// </summary>
public readonly ref struct EdgeAccessLogEntry
{
    public EdgeAccessLogEntry(ReadOnlySpan<char> address, ReadOnlySpan<char> userAgent, ReadOnlySpan<char> requestUri, int status,
        ReadOnlySpan<char> cmcdRequest, ReadOnlySpan<char> cmcdObject, ReadOnlySpan<char> cmcdStatus, ReadOnlySpan<char> cmcdSession)
    {
        Address = address;
        UserAgent = userAgent;
        RequestUri = requestUri;
        Status = status;
        CmcdRequest = cmcdRequest;
        CmcdObject = cmcdObject;
        CmcdStatus = cmcdStatus;
        CmcdSession = cmcdSession;
    }

    /// <summary>The viewer's address as the edge saw it (nginx <c>$remote_addr</c>).</summary>
    public ReadOnlySpan<char> Address { get; }

    public ReadOnlySpan<char> UserAgent { get; }

    /// <summary>The path and query the viewer asked for (nginx <c>$request_uri</c>: before any internal rewrite).</summary>
    public ReadOnlySpan<char> RequestUri { get; }

    /// <summary>The status the edge answered with.</summary>
    public int Status { get; }

    public ReadOnlySpan<char> CmcdRequest { get; }

    public ReadOnlySpan<char> CmcdObject { get; }

    public ReadOnlySpan<char> CmcdStatus { get; }

    public ReadOnlySpan<char> CmcdSession { get; }
}

/// <summary>
/// Reads one datagram of the edge's audience log: nginx's syslog framing (RFC 3164 as nginx writes it,
/// <c>&lt;PRI&gt;Mmm dd hh:mm:ss [host ]tag: message</c>) around the <c>broadcast_audience</c> log format of
/// infra/nginx-edge.conf, one JSON object with <c>escape=json</c>:
/// <c>{"a":"$remote_addr","u":"$http_user_agent","r":"$request_uri","s":"$status","cq":"$http_cmcd_request",
/// "co":"$http_cmcd_object","cs":"$http_cmcd_status","cx":"$http_cmcd_session"}</c>. Unknown keys are skipped; the
/// address, the request and the status are required. Allocates nothing; the values land in the caller's buffer.
/// </summary>
public static class EdgeAccessLogLine
{
    /// <summary>The longest datagram read: nginx's own syslog line limit is about 2 KiB, and a longer one is no line of ours.</summary>
    public const int MaxBytes = 4096;

    public static EdgeLogParse Parse(ReadOnlySpan<byte> datagram, Span<char> scratch, out EdgeAccessLogEntry entry)
    {
        entry = default;
        if (datagram.Length > MaxBytes) return EdgeLogParse.TooLong;
        if (!TryMessage(datagram, out var message)) return EdgeLogParse.Malformed;
        try
        {
            return Read(message, scratch, out entry);
        }
        catch (JsonException)
        {
            return EdgeLogParse.Malformed;
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader's CopyString on a value that is not a string, or invalid UTF-8 inside one.
            return EdgeLogParse.Malformed;
        }
    }

    /// <summary>The message after the frame's priority, time stamp and tag: from the first '{' to the end.</summary>
    private static bool TryMessage(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> message)
    {
        message = default;
        // "<" 1-3 digits ">" (RFC 3164 §4.1.1).
        if (datagram.Length < 3 || datagram[0] != (byte)'<') return false;
        int close = datagram[..Math.Min(datagram.Length, 5)].IndexOf((byte)'>');
        if (close < 2) return false;
        foreach (byte b in datagram[1..close])
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
        }

        int brace = datagram[(close + 1)..].IndexOf((byte)'{');
        if (brace < 0) return false;
        message = datagram[(close + 1 + brace)..];
        // nginx ends a syslog message without a newline; a relay may add one.
        while (message.Length > 0 && message[^1] is (byte)'\n' or (byte)'\r') message = message[..^1];
        return message.Length > 1 && message[^1] == (byte)'}';
    }

    // The fields' places in the ranges read; Absent where the line did not have the key.
    private const int AddressField = 0, UserAgentField = 1, RequestField = 2, StatusField = 3;
    private const int CmcdRequestField = 4, CmcdObjectField = 5, CmcdStatusField = 6, CmcdSessionField = 7, FieldCount = 8;

    private static EdgeLogParse Read(ReadOnlySpan<byte> message, Span<char> scratch, out EdgeAccessLogEntry entry)
    {
        entry = default;
        var reader = new Utf8JsonReader(message, new JsonReaderOptions { MaxDepth = 2 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return EdgeLogParse.Malformed;
        int used = 0;
        Span<Range> fields = stackalloc Range[FieldCount];
        Span<bool> present = stackalloc bool[FieldCount];
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                if (reader.Read() || !present[AddressField] || !present[RequestField] || !present[StatusField]) return EdgeLogParse.Malformed;
                if (!int.TryParse(scratch[fields[StatusField]], out int code) || code is < 100 or > 999) return EdgeLogParse.Malformed;
                entry = new EdgeAccessLogEntry(scratch[fields[AddressField]], scratch[fields[UserAgentField]], scratch[fields[RequestField]], code,
                    scratch[fields[CmcdRequestField]], scratch[fields[CmcdObjectField]], scratch[fields[CmcdStatusField]], scratch[fields[CmcdSessionField]]);
                return EdgeLogParse.Read;
            }

            if (reader.TokenType != JsonTokenType.PropertyName) return EdgeLogParse.Malformed;
            int field = FieldOf(ref reader);
            if (!reader.Read()) return EdgeLogParse.Malformed;
            if (field < 0)
            {
                // An unknown key: skipped, when its value is a plain value (this format has no nesting).
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) return EdgeLogParse.Malformed;
                continue;
            }

            if (reader.TokenType != JsonTokenType.String || present[field]) return EdgeLogParse.Malformed;
            // An unescaped value is never longer in chars than its escaped bytes.
            if (reader.ValueSpan.Length > scratch.Length - used) return EdgeLogParse.Malformed;
            int written = reader.CopyString(scratch[used..]);
            fields[field] = used..(used + written);
            present[field] = true;
            used += written;
        }

        return EdgeLogParse.Malformed;
    }

    private static int FieldOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("a"u8) ? AddressField
        : reader.ValueTextEquals("u"u8) ? UserAgentField
        : reader.ValueTextEquals("r"u8) ? RequestField
        : reader.ValueTextEquals("s"u8) ? StatusField
        : reader.ValueTextEquals("cq"u8) ? CmcdRequestField
        : reader.ValueTextEquals("co"u8) ? CmcdObjectField
        : reader.ValueTextEquals("cs"u8) ? CmcdStatusField
        : reader.ValueTextEquals("cx"u8) ? CmcdSessionField
        : -1;
}
