using System.Net;
using System.Net.Sockets;
using Broadcast.Network.Outbound;

namespace Broadcast.Ingest.Pull;

/// <summary>
/// What ffprobe and ffmpeg are told to open for one attempt: the input URL and the input options that fence it in.
/// <list type="bullet">
/// <item><c>-protocol_whitelist</c>: only the protocols the scheme needs, so nothing the source returns (an HLS playlist's entries)
/// can make ffmpeg open file:, udp:, concat: or the like.</item>
/// <item>rtmps:// and https://: <c>-tls_verify 1</c> with the CA bundle, unless the source allows an untrusted certificate.</item>
/// <item>http(s)://: <c>-max_redirects 0</c>: ffmpeg would follow a redirect to any address without asking us.</item>
/// <item>http(s)://: <c>-http_proxy</c>, the attempt's <see cref="Proxy.OutboundHttpProxy"/>: every request ffmpeg makes (the
/// playlist, each segment an HLS playlist names, on whatever host) is checked there and connected to the checked address.</item>
/// <item>rtmp:// and srt:// (no TLS): the host is replaced by the address the outbound policy checked (and <c>-rtmp_tcurl</c> keeps the
/// name in the RTMP connect command), so what was checked is what is connected to. rtmps:// and https:// keep the name, which TLS
/// needs for SNI and certificate checks: ffmpeg resolves it again a moment after the check (see docs/publish.md, "Outbound connections").</item>
/// </list>
/// </summary>
public sealed record PullTarget(string Url, IReadOnlyList<string> InputOptions)
{
    public static PullTarget For(PullInput input, PullOptions options, bool allowUntrustedCertificate, IPAddress? pinned = null,
        string? httpProxy = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        if (input.Kind == PullSourceKind.File) return new PullTarget(input.FfmpegInput, ["-protocol_whitelist", "file"]);
        var uri = new Uri(input.FfmpegInput);
        string scheme = uri.Scheme.ToLowerInvariant();
        var args = new List<string>
        {
            "-protocol_whitelist",
            scheme switch
            {
                "rtmp" => "rtmp,tcp",
                "rtmps" => "rtmps,tls,tcp",
                "srt" => "srt",
                _ => httpProxy is null ? "http,https,tls,tcp,crypto,data" : "http,https,tls,tcp,crypto,data,httpproxy",
            },
        };
        if (scheme is "rtmps" or "https" && !allowUntrustedCertificate)
        {
            args.AddRange(["-tls_verify", "1"]);
            if (options.CaFile is { Length: > 0 } ca && File.Exists(ca)) args.AddRange(["-ca_file", ca]);
        }
        if (scheme is "http" or "https") args.AddRange(["-max_redirects", "0"]);
        if (scheme is "http" or "https" && httpProxy is not null) args.AddRange(["-http_proxy", httpProxy]);
        string url = input.FfmpegInput;
        if (pinned is not null && scheme is "rtmp" or "srt")
        {
            int port = OutboundUrlPolicy.PortOf(uri)!.Value;
            if (scheme == "rtmp") args.AddRange(["-rtmp_tcurl", RtmpTcUrl(input.FfmpegInput, OutboundUrlPolicy.HostOf(uri), port)]);
            url = WithAddress(input.FfmpegInput, pinned, port);
        }
        return new PullTarget(url, args);
    }

    /// <summary>The URL with its host (and port) replaced by <paramref name="address"/>; user information,
    /// path and query kept byte for byte.</summary>
    public static string WithAddress(string url, IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(address);
        int start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        int end = url.IndexOfAny(['/', '?', '#'], start);
        if (end < 0) end = url.Length;
        string authority = url[start..end];
        int at = authority.LastIndexOf('@');
        string userInfo = at >= 0 ? authority[..(at + 1)] : "";
        string host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return url[..start] + userInfo + host + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture) + url[end..];
    }

    /// <summary>
    /// The tcUrl ffmpeg 5.1 sends for <paramref name="url"/> (<c>rtmp://host:port/app</c>, app as its rtmpproto.c splits the path: the
    /// first segment, or two when a third follows that is not an <c>mp4:</c>-style name; <c>/ondemand/</c>; the path before an
    /// <c>slist=</c> query), so pinning the address leaves the connect command as it was.
    /// </summary>
    public static string RtmpTcUrl(string url, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(url);
        int start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        int end = url.IndexOfAny(['/', '?', '#'], start);
        string path = end < 0 ? "" : url[end..];
        string app;
        int qmark = path.IndexOf('?', StringComparison.Ordinal);
        if (qmark >= 0 && path.IndexOf("slist=", qmark, StringComparison.Ordinal) >= 0) app = path[1..qmark];
        else if (path.StartsWith("/ondemand/", StringComparison.Ordinal)) app = "ondemand";
        else
        {
            string next = path.Length > 0 ? path[1..] : path;
            int p = next.IndexOf('/', StringComparison.Ordinal);
            if (p < 0) app = next;
            else
            {
                int colon = next.IndexOf(':', p + 1);
                int name = next.IndexOf('/', p + 1);
                app = name < 0 || (colon >= 0 && colon < name) ? next[..p] : next[..name];
            }
        }
        string h = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return $"rtmp://{h}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{app}";
    }
}
