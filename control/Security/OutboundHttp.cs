using System.Net;
using System.Net.Sockets;
using Broadcast.Network.Outbound;

namespace Broadcast.Control.Security;

/// <summary>A request that <see cref="OutboundHttp"/> did not make: the outbound policy refused its destination.</summary>
public sealed class OutboundRefusedException(string message) : HttpRequestException(message);

/// <summary>An answer longer than the caller's cap: its body was not read past the cap.</summary>
public sealed class OutboundAnswerTooLargeException(long limit) : HttpRequestException($"the answer is longer than {limit} bytes");

/// <summary>
/// HTTP to the platform's URLs (callbacks, key sets, webhooks) through the outbound policy: every connection's host is
/// resolved and checked by <see cref="OutboundGuard"/> and the connection is made to a checked address, so a name that
/// resolves elsewhere between the check and the connect (DNS rebinding) is never reached. Redirects are not followed
/// (a 3xx is an answer like any other), no proxy is used (the checked address is the one connected to), no cookies are
/// kept, and a body is read up to a cap.
/// </summary>
public static class OutboundHttp
{
    /// <summary>A handler for one purpose's <see cref="HttpClient"/>; the caller owns it (one per process and purpose).</summary>
    public static SocketsHttpHandler CreateHandler(OutboundGuard guard, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(guard);
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = connectTimeout,
            // A name's addresses are checked again when a pooled connection is replaced.
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxResponseHeadersLength = 16, // KiB
            ConnectCallback = (context, cancellationToken) => ConnectAsync(guard, context.DnsEndPoint, cancellationToken),
        };
    }

    /// <summary>
    /// The URL rules alone (scheme http or https, no credentials, the port rules), before any lookup: null when
    /// <paramref name="url"/> may be asked, else why not.
    /// </summary>
    public static string? RefusalOf(OutboundGuard guard, Uri url)
    {
        ArgumentNullException.ThrowIfNull(guard);
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            return "only http and https URLs are asked";
        var decision = guard.Policy.CheckUrl(url);
        return decision.IsAllowed ? null : decision.Reason;
    }

    /// <summary>
    /// Reads <paramref name="content"/> up to <paramref name="maxBytes"/>; a declared or actual length past it throws
    /// <see cref="OutboundAnswerTooLargeException"/> without reading the rest.
    /// </summary>
    public static async Task<byte[]> ReadCappedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (content.Headers.ContentLength is { } declared && declared > maxBytes) throw new OutboundAnswerTooLargeException(maxBytes);
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[Math.Min(maxBytes + 1, 16 * 1024)];
            using var body = new MemoryStream();
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > maxBytes) throw new OutboundAnswerTooLargeException(maxBytes);
                body.Write(buffer, 0, read);
            }

            return body.ToArray();
        }
    }

    private static async ValueTask<Stream> ConnectAsync(OutboundGuard guard, DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var check = await guard.CheckDestinationAsync(endPoint.Host, endPoint.Port, cancellationToken).ConfigureAwait(false);
        if (!check.IsAllowed) throw new OutboundRefusedException($"{endPoint.Host}:{endPoint.Port} is refused by the outbound policy: {check.Decision.Reason}");
        if (check.Addresses.Count == 0) throw new HttpRequestException($"{endPoint.Host} does not resolve");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync([.. check.Addresses], endPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
