namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// Where a publishing client goes: <c>rtmp://host[:1935]/app[/instance]</c> or <c>rtmps://host[:443]/app</c> plus
/// the stream key (the publish name). The server URL is what OBS calls "Server", the key its "Stream Key".
/// <see cref="ToString"/> never includes the key, so a target can be logged.
/// </summary>
public sealed record RtmpPublishTarget(bool Secure, string Host, int Port, string App, string StreamKey)
{
    public const int DefaultRtmpPort = 1935;
    public const int DefaultRtmpsPort = 443;

    /// <summary>tcUrl of the connect command: the server URL without the key.</summary>
    public string TcUrl
        => $"{(Secure ? "rtmps" : "rtmp")}://{HostForUrl}{(Port == (Secure ? DefaultRtmpsPort : DefaultRtmpPort) ? "" : ":" + Port)}/{App}";

    private string HostForUrl => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;

    /// <summary>
    /// Parses a server URL (scheme rtmp or rtmps, a host, an app path) and a stream key. A key given separately wins;
    /// otherwise the last path segment of a URL with two or more segments is the key (<c>rtmp://h/live/KEY</c>).
    /// </summary>
    public static bool TryParse(string? url, string? streamKey, out RtmpPublishTarget? target, out string? error)
    {
        target = null;
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri))
        {
            error = "must be an absolute rtmp:// or rtmps:// URL";
            return false;
        }
        bool secure;
        if (uri.Scheme == "rtmp") secure = false;
        else if (uri.Scheme == "rtmps") secure = true;
        else
        {
            error = $"scheme '{uri.Scheme}' is not supported: use rtmp:// or rtmps://";
            return false;
        }
        if (string.IsNullOrEmpty(uri.Host))
        {
            error = "has no host";
            return false;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            error = "must not carry user information";
            return false;
        }
        var path = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        if (path.Length == 0)
        {
            error = "has no application path (e.g. rtmp://host/live)";
            return false;
        }
        string app = path;
        string key = streamKey?.Trim() ?? "";
        if (key.Length == 0)
        {
            int slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                error = "names no stream key: give one, or end the URL with it";
                return false;
            }
            app = path[..slash];
            key = path[(slash + 1)..];
        }
        key += uri.Query; // "KEY?token=…" style keys keep their query
        int port = uri.IsDefaultPort || uri.Port < 0 ? (secure ? DefaultRtmpsPort : DefaultRtmpPort) : uri.Port;
        target = new RtmpPublishTarget(secure, uri.IdnHost.Trim('[', ']'), port, app, key);
        error = null;
        return true;
    }

    public override string ToString() => TcUrl;
}
