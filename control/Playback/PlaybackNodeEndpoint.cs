using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broadcast.Control.Security;
using System.Buffers.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;


namespace Broadcast.Control.Playback;

/// <summary>One verification key as a cluster node receives it: the id carried in tokens and the HMAC secret (base64url).</summary>
public sealed record PlaybackNodeKey(string Id, string Secret);

/// <summary>
/// What an origin-only node needs to enforce private playback without the database: the private channels' slugs
/// and the keys that verify tokens (current, and previous while it still verifies). <see cref="Version"/> changes
/// whenever either changes; it is also the response's ETag.
/// </summary>
public sealed record PlaybackNodeSnapshot(string Version, IReadOnlyList<string> PrivateChannels, PlaybackNodeKey CurrentKey, PlaybackNodeKey? PreviousKey);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PlaybackNodeSnapshot))]
public sealed partial class PlaybackNodeJsonContext : JsonSerializerContext;

/// <summary>
/// <c>GET /api/playback/access</c>: private channels and playback verification keys <b>with their secrets</b>, for
/// cluster nodes only (origin-only nodes poll it to check tokens locally). It accepts the admin bearer token
/// (<c>Admin:Token</c>) and nothing else: not anonymous, not a dashboard session, so a browser never fetches the
/// secrets. Answers <c>304</c> to <c>If-None-Match</c> with the current version, so an unchanged snapshot costs a
/// hash and no body.
/// </summary>
public static class PlaybackNodeEndpoint
{
    public const string Path = "/api/playback/access";

    public static IEndpointRouteBuilder MapPlaybackNodeAccess(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(Path, Get)
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(ControlAuth.BearerScheme).RequireAuthenticatedUser().RequireRole(ControlAuth.AdminRole))
            .WithTags("playback").Produces<PlaybackNodeSnapshot>().Produces(StatusCodes.Status304NotModified);
        return endpoints;
    }

    private static async Task<IResult> Get(HttpContext context, PlaybackAccessService access, CancellationToken cancellationToken)
    {
        PlaybackKeyRing keys = access.Keys ?? await access.RefreshAsync(cancellationToken).ConfigureAwait(false);
        var slugs = access.PrivateSlugs.Order(StringComparer.Ordinal).ToArray();
        string version = VersionOf(slugs, keys);
        string etag = "\"" + version + "\"";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ETag = etag;
        foreach (string? candidate in context.Request.Headers.IfNoneMatch)
        {
            if (candidate is not null && candidate.Split(',', StringSplitOptions.TrimEntries).Contains(etag, StringComparer.Ordinal))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
        }

        return Results.Json(new PlaybackNodeSnapshot(version, slugs, ToNode(keys.Current), keys.Previous is { } previous ? ToNode(previous) : null),
            PlaybackNodeJsonContext.Default.PlaybackNodeSnapshot);
    }

    private static PlaybackNodeKey ToNode(PlaybackSigningKey key) => new(key.Id, Base64Url.EncodeToString(key.Secret));

    // Key ids are random per key, so ids and slugs are enough to tell snapshots apart; secrets stay out of the hash.
    private static string VersionOf(string[] slugs, PlaybackKeyRing keys)
    {
        var text = new StringBuilder();
        text.Append(keys.Current.Id).Append('\n').Append(keys.Previous?.Id).Append('\n');
        foreach (string slug in slugs)
        {
            text.Append(slug).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }
}
