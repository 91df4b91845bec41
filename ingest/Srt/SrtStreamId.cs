namespace Broadcast.Ingest.Srt;

/// <summary>
/// What an SRT caller asks for in its stream id (SRTO_STREAMID, at most 512 bytes): the SRT Access Control syntax
/// <c>#!::r=live/{streamKey},m=publish</c> (Haivision SRT docs/features/access-control.md: <c>#!::</c>, then
/// comma-separated <c>key=value</c> pairs; standard keys u user, r resource, h host, s session, t type, m mode;
/// other keys are the application's and are ignored here), or the plain <c>live/{streamKey}</c> other servers accept.
/// The resource is <c>{app}/{streamKey}</c>, split at its first '/'. Only publishing is offered: <c>m=request</c> and
/// <c>m=bidirectional</c> are refused, and a missing <c>m</c> (the syntax's default is request) counts as publish,
/// since a caller of this port can mean nothing else. A pure wire-format type: no sockets, no logging.
/// </summary>
public readonly record struct SrtStreamId(string App, string StreamKey, string? User)
{
    /// <summary>SRTO_STREAMID's limit (SRT docs/API/API-socket-options.md).</summary>
    public const int MaxLength = 512;

    private const string AccessControlPrefix = "#!::";

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses the stream id as it arrives (SRTO_STREAMID bytes, UTF-8); invalid UTF-8 is refused.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out SrtStreamId id, out string? error)
    {
        id = default;
        if (utf8.Length > MaxLength) return Fail($"stream id of {utf8.Length} bytes, above SRT's {MaxLength}", out error);
        string text;
        try
        {
            text = StrictUtf8.GetString(utf8);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return Fail("stream id is not UTF-8", out error);
        }
        return TryParse(text, out id, out error);
    }

    /// <summary>Parses a stream id; false with a reason fit for a log (it never repeats the key).</summary>
    public static bool TryParse(string? text, out SrtStreamId id, out string? error)
    {
        id = default;
        error = null;
        if (string.IsNullOrEmpty(text)) return Fail("no stream id: publish to srt://HOST:PORT?streamid=#!::r=live/{streamKey},m=publish", out error);
        if (text.Length > MaxLength) return Fail($"stream id of {text.Length} characters, above SRT's {MaxLength}", out error);
        foreach (char c in text)
            if (char.IsControl(c)) return Fail("stream id with a control character", out error);

        string? resource, user = null;
        if (!text.StartsWith(AccessControlPrefix, StringComparison.Ordinal))
        {
            resource = text;
        }
        else
        {
            resource = null;
            string? mode = null, type = null;
            var pairs = text[AccessControlPrefix.Length..].Split(',');
            for (int i = 0; i < pairs.Length; i++)
            {
                string pair = pairs[i];
                int equals = pair.IndexOf('=');
                if (equals <= 0) return Fail($"stream id item {i + 1} is not key=value", out error); // not echoed: it may be the key
                string key = pair[..equals], value = pair[(equals + 1)..];
                switch (key)
                {
                    case "r": if (!Once(ref resource, value, key, out error)) return false; break;
                    case "m": if (!Once(ref mode, value, key, out error)) return false; break;
                    case "t": if (!Once(ref type, value, key, out error)) return false; break;
                    case "u": if (!Once(ref user, value, key, out error)) return false; break;
                    default: break; // h, s and application keys say nothing this server uses
                }
            }
            if (mode is not (null or "publish"))
                return Fail($"stream id mode m={Shorten(mode)}: this port only takes publishers (m=publish)", out error);
            if (type is not (null or "stream"))
                return Fail($"stream id type t={Shorten(type)}: only t=stream is served", out error);
            if (resource is null) return Fail("stream id without a resource: use #!::r=live/{streamKey},m=publish", out error);
        }
        int slash = resource.IndexOf('/');
        if (slash <= 0) return Fail("stream id resource is not {app}/{streamKey}", out error);
        string app = resource[..slash], streamKey = resource[(slash + 1)..];
        if (streamKey.Length == 0) return Fail($"stream id resource '{Shorten(app)}/' has no stream key", out error);
        id = new SrtStreamId(app, streamKey, user);
        return true;
    }

    private static bool Once(ref string? slot, string value, string key, out string? error)
    {
        error = null;
        if (slot is not null) return Fail($"stream id key '{key}' given twice", out error);
        slot = value;
        return true;
    }

    private static bool Fail(string reason, out string? error)
    {
        error = reason;
        return false;
    }

    /// <summary>Values from the wire go into logs; keep them short. Stream keys never do.</summary>
    private static string Shorten(string value) => value.Length <= 32 ? value : value[..32] + "…";

    public override string ToString() => $"{App}/…"; // the stream key is a secret
}
