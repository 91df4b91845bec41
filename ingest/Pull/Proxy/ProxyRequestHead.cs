namespace Broadcast.Ingest.Pull.Proxy;

/// <summary>What a forward-proxy request asks for (RFC 9112 §3.2.2 absolute-form, §3.2.3 authority-form for CONNECT).</summary>
public enum ProxyMethod
{
    /// <summary><c>CONNECT host:port</c>: a TCP tunnel (ffmpeg's https:// through <c>http_proxy</c>; TLS stays end to end).</summary>
    Connect,

    /// <summary><c>GET http://host:port/path</c>: ffmpeg's http:// through <c>http_proxy</c>.</summary>
    Get,

    /// <summary><c>HEAD http://…</c>.</summary>
    Head,
}

public enum ProxyHeadStatus
{
    /// <summary>The head is complete and valid.</summary>
    Complete,

    /// <summary>No blank line yet, and the head is still under <see cref="ProxyRequestHead.MaxBytes"/>.</summary>
    NeedMore,

    /// <summary>Not a request this proxy serves; <c>error</c> says why.</summary>
    Invalid,
}

/// <summary>
/// A forward-proxy request head: request line and header fields up to the blank line. Only what an ffmpeg pull sends is
/// accepted: CONNECT to an authority, GET or HEAD of an absolute http:// URI, no body. Header names and values are
/// kept (the GET is forwarded with them), bounded by <see cref="MaxBytes"/> and <see cref="MaxFields"/>.
/// </summary>
public sealed record ProxyRequestHead(ProxyMethod Method, string Host, int Port, Uri? Target, IReadOnlyList<KeyValuePair<string, string>> Fields,
    int Length)
{
    /// <summary>The largest head accepted (request line and fields, with the blank line).</summary>
    public const int MaxBytes = 16 * 1024;

    public const int MaxFields = 64;

    /// <summary>
    /// Parses a head from the start of <paramref name="buffer"/>. <see cref="ProxyHeadStatus.NeedMore"/> until the blank line
    /// arrives; <see cref="ProxyHeadStatus.Invalid"/> for anything malformed, too long, or not served.
    /// </summary>
    public static ProxyHeadStatus TryRead(ReadOnlySpan<byte> buffer, out ProxyRequestHead? head, out string? error)
    {
        head = null;
        error = null;
        int end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            if (buffer.Length >= MaxBytes) return Fail("the request head is longer than 16 KiB", out error);
            return ProxyHeadStatus.NeedMore;
        }

        int length = end + 4;
        if (length > MaxBytes) return Fail("the request head is longer than 16 KiB", out error);
        var bytes = buffer[..end];
        // RFC 9110 §5.5: field values are visible characters, spaces and tabs (obs-text allowed); other controls are malformed.
        foreach (byte b in bytes)
        {
            if ((b < 0x20 && b is not (byte)'\t' and not (byte)'\r' and not (byte)'\n')
                || b == 0x7F) return Fail("the request head holds control bytes", out error);
        }

        var lines = System.Text.Encoding.Latin1.GetString(bytes).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[2] is not ("HTTP/1.1" or "HTTP/1.0")) return Fail("the request line is not METHOD TARGET HTTP/1.x",
            out error);
        var fields = new List<KeyValuePair<string, string>>(lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            // RFC 9112 §5.1: no whitespace between the name and the colon; obsolete line folding is refused (§5.2).
            if (colon <= 0 || line[0] is ' ' or '\t' || line.AsSpan(0, colon).ContainsAny(" \t\r\n")) return Fail("a header field is malformed",
                out error);
            if (line.Contains('\r', StringComparison.Ordinal)
                || line.Contains('\n', StringComparison.Ordinal)) return Fail("a header field holds a bare CR or LF", out error);
            if (fields.Count == MaxFields) return Fail($"more than {MaxFields} header fields", out error);
            fields.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        if (fields.Any(f => f.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && f.Value != "0")
            || fields.Any(f => f.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
        {
            return Fail("a request body is not accepted", out error);
        }

        string method = requestLine[0];
        string target = requestLine[1];
        switch (method)
        {
            case "CONNECT":
                if (!TryAuthority(target, out string? host, out int port)) return Fail("CONNECT needs host:port", out error);
                head = new ProxyRequestHead(ProxyMethod.Connect, host!, port, null, fields, length);
                return ProxyHeadStatus.Complete;
            case "GET" or "HEAD":
                if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.UserInfo.Length > 0
                    || uri.Host.Length == 0
                    || uri.Port is < 1 or > 65535)
                    return Fail("GET needs an absolute http:// URI", out error);
                head = new ProxyRequestHead(method == "GET" ? ProxyMethod.Get : ProxyMethod.Head, uri.Host, uri.Port, uri, fields, length);
                return ProxyHeadStatus.Complete;
            default:
                return Fail($"the method '{Printable(method)}' is not served", out error);
        }
    }

    /// <summary>
    /// The head to send upstream for a GET or HEAD: origin-form request line (§3.2.1), the client's fields without the
    /// hop-by-hop and proxy ones, and <c>Connection: close</c> (one request per tunnel keeps the proxy simple).
    /// </summary>
    public byte[] ToOriginRequest()
    {
        if (Target is null) throw new InvalidOperationException("Only GET and HEAD are forwarded as requests.");
        var text = new System.Text.StringBuilder();
        text.Append(Method == ProxyMethod.Get ? "GET " : "HEAD ").Append(Target.PathAndQuery).Append(" HTTP/1.1\r\n");
        bool host = false;
        foreach (var (name, value) in Fields)
        {
            if (IsHopByHop(name)) continue;
            host |= name.Equals("Host", StringComparison.OrdinalIgnoreCase);
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (!host) text.Append("Host: ").Append(Target.Authority).Append("\r\n");
        text.Append("Connection: close\r\n\r\n");
        return System.Text.Encoding.Latin1.GetBytes(text.ToString());
    }

    private static bool IsHopByHop(string name) =>
        name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
        || name.Equals("TE", StringComparison.OrdinalIgnoreCase) || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);

    private static bool TryAuthority(string target, out string? host, out int port)
    {
        host = null;
        port = 0;
        int colon = target.LastIndexOf(':');
        if (colon <= 0 || colon == target.Length - 1) return false;
        string name = target[..colon];
        if (name.StartsWith('[') != name.EndsWith(']')) return false;
        if (!int.TryParse(target.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out port)
            || port is < 1 or > 65535) return false;
        if (Uri.CheckHostName(name.Trim('[', ']')) == UriHostNameType.Unknown) return false;
        host = name;
        return true;
    }

    private static string Printable(string text) => text.Length > 16 ? text[..16] + "…" : text;

    private static ProxyHeadStatus Fail(string reason, out string? error)
    {
        error = reason;
        return ProxyHeadStatus.Invalid;
    }
}
