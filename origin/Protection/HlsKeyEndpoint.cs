using Broadcast.Packager.Cmaf.Encryption;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin.Protection;

/// <summary>
/// <c>GET /live/{channel}/key/{kid}</c>: the raw 16-byte key of an AES-128 HLS broadcast (RFC 8216bis §4.4.4.4: the
/// EXT-X-KEY URI "that specifies how to obtain the key"; §5.2: its value is 16 octets), named by its KID (32 hex digits), never
/// by the key. Exactly the license's rules (<see cref="ClearKeyLicenseEndpoint"/>), sharing its service: the same playback
/// authorization (a private channel's key needs the playback cookie, <c>?token=</c> or <c>Authorization: Bearer</c>; none is
/// 401, a bad one 403), the same per-address refusal count and 429, the same key cache, and on an origin-only node the same
/// control node to ask. Only keys of that channel's broadcasts are answered (others 404); a KID that is not 32 hex digits is
/// 400. Answers are <c>Cache-Control: no-store</c>, so no edge keeps a key.
/// </summary>
public static class HlsKeyEndpoint
{
    /// <summary>The path segment under a channel's prefix: <c>/live/{channel}/key/{kid}</c>.</summary>
    public const string Name = "key";

    private static readonly StringValues OctetStream = "application/octet-stream";
    private static readonly StringValues AllowMethods = "GET, OPTIONS";
    private static readonly StringValues AllowHeaders = "Authorization";

    /// <summary>The key URL an EXT-X-KEY names for a broadcast's KID (path-absolute; the provider puts it under
    /// <c>Public:HttpBaseUrl</c> when set).</summary>
    public static string UrlFor(string channel, KeyId keyId) => $"/live/{channel}/{Name}/{Convert.ToHexStringLower(keyId.ToArray())}";

    internal static void Map(RouteGroupBuilder routes, ClearKeyLicenseEndpoint.LicenseService license)
    {
        routes.MapGet("/live/{channel}/" + Name + "/{kid}", (HttpContext context, string channel, string kid) => HandleAsync(context, channel, kid, license))
            .WithDisplayName("AES-128 HLS key");
        ClearKeyLicenseEndpoint.MapPreflight(routes, "/live/{channel}/" + Name + "/{kid}", AllowMethods, AllowHeaders, "AES-128 HLS key preflight");
    }

    /// <summary>Whether a path under <c>/live</c> (<paramref name="rest"/>: "/{channel}/key/{kid}") is a key request, which the
    /// origin's media middleware leaves to this route. A rendition is never named "key" (its folder would be taken for it).</summary>
    public static bool IsKeyPath(string? rest)
    {
        if (string.IsNullOrEmpty(rest) || rest[0] != '/') return false;
        var span = rest.AsSpan(1);
        int first = span.IndexOf('/');
        if (first <= 0) return false;
        var after = span[(first + 1)..];
        return after.StartsWith(Name + "/", StringComparison.Ordinal) && after[(Name.Length + 1)..].IndexOf('/') < 0;
    }

    /// <summary>The KID of a key URL: 32 hex digits, or null.</summary>
    internal static KeyId? ParseKeyId(string text) =>
        text is { Length: 32 } && text.All(char.IsAsciiHexDigit) ? KeyId.FromBytes(Convert.FromHexString(text)) : null;

    private static async Task HandleAsync(HttpContext context, string channel, string kid, ClearKeyLicenseEndpoint.LicenseService license)
    {
        HttpResponse response = context.Response;
        // A GET carries no body: none is read, and none is accepted.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = 0;
        var (admitted, address) = await license.AdmitAsync(context, channel).ConfigureAwait(false);
        if (!admitted) return;

        if (ParseKeyId(kid) is not { } keyId)
        {
            license.Refused(address, channel);
            await ClearKeyLicenseEndpoint.ProblemAsync(response, StatusCodes.Status400BadRequest,
                "A key is named by its KID: 32 hex digits.").ConfigureAwait(false);
            return;
        }

        if (await license.FindAsync(context, channel, [keyId]).ConfigureAwait(false) is not { } found) return;
        int at = IndexOf(found, keyId);
        if (at < 0)
        {
            license.Refused(address, channel);
            await ClearKeyLicenseEndpoint.ProblemAsync(response, StatusCodes.Status404NotFound, "That KID is no key of this channel.")
                .ConfigureAwait(false);
            return;
        }

        byte[] bytes = new byte[16];
        found[at].CopyKeyTo(bytes);
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = OctetStream;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private static int IndexOf(IReadOnlyList<ContentKey> keys, KeyId keyId)
    {
        for (int i = 0; i < keys.Count; i++)
        {
            if (keys[i].Id == keyId) return i;
        }

        return -1;
    }
}
