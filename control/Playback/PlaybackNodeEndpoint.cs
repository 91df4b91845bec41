using System.Security.Cryptography;
using System.Text;
using System.Buffers.Text;
using Broadcast.Control.Api;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;


namespace Broadcast.Control.Playback;

/// <summary>One verification key as a cluster node receives it: the id carried in tokens and the HMAC secret (base64url).</summary>
public sealed record PlaybackNodeKey(string Id, string Secret);

/// <summary>A private channel as a cluster node receives it: its slug (the stream) and its id (what its tokens are bound to).</summary>
public sealed record PlaybackNodeChannel(string Slug, string Id);

/// <summary>
/// What an origin-only node needs to enforce private playback without the database: the private channels (slug and
/// id) and the keys that verify tokens (current, and previous while it still verifies). <see cref="Version"/> changes
/// whenever either changes; it is also the response's ETag. <see cref="PrivateChannels"/> repeats the slugs alone, so
/// an origin of the version before channel ids were bound still refuses those streams (its tokens no longer verify).
/// </summary>
public sealed record PlaybackNodeSnapshot(string Version, IReadOnlyList<string> PrivateChannels, PlaybackNodeKey CurrentKey,
    PlaybackNodeKey? PreviousKey)
{
    /// <summary>The private channels with their ids; a node refuses a snapshot without them (it could verify no token).</summary>
    public IReadOnlyList<PlaybackNodeChannel>? Channels { get; init; }
}

/// <summary>
/// <c>GET /api/playback/access</c>: private channels and playback verification keys <b>with their secrets</b>, for
/// cluster nodes only (origin-only nodes poll it to check tokens locally). It accepts the playback node token
/// (<c>Playback:NodeToken</c>) and nothing else: not the admin token (an origin must not need it), not anonymous, not a
/// dashboard session, so a browser never fetches the secrets. Answers <c>304</c> to <c>If-None-Match</c> with the current version,
/// so an unchanged snapshot costs a
/// hash and no body.
/// </summary>
public static class PlaybackNodeEndpoint
{
    public const string Path = "/api/playback/access";

    public static IEndpointRouteBuilder MapPlaybackNodeAccess(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(Path, Get)
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(ControlAuth.PlaybackNodeScheme).RequireAuthenticatedUser()
                .RequireRole(ControlAuth.PlaybackNodeRole))
            .WithTags("playback").Produces<PlaybackNodeSnapshot>().Produces(StatusCodes.Status304NotModified);
        return endpoints;
    }

    private static async Task<IResult> Get(HttpContext context, PlaybackAccessService access, CancellationToken cancellationToken)
    {
        PlaybackKeyRing keys = access.Keys ?? await access.RefreshAsync(cancellationToken).ConfigureAwait(false);
        var channels = access.PrivateChannels.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new PlaybackNodeChannel(c.Key, c.Value))
            .ToArray();
        string version = VersionOf(channels, keys);
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

        return Results.Json(new PlaybackNodeSnapshot(version, channels.Select(c => c.Slug).ToArray(), ToNode(keys.Current),
                keys.Previous is { } previous ? ToNode(previous) : null) { Channels = channels },
            ControlJsonContext.Default.PlaybackNodeSnapshot);
    }

    private static PlaybackNodeKey ToNode(PlaybackSigningKey key) => new(key.Id, Base64Url.EncodeToString(key.Secret));

    // Key ids are random per key, so key ids, slugs and channel ids are enough to tell snapshots apart (a slug taken
    // over by a new channel changes it); secrets stay out of the hash.
    private static string VersionOf(PlaybackNodeChannel[] channels, PlaybackKeyRing keys)
    {
        var text = new StringBuilder();
        text.Append(keys.Current.Id).Append('\n').Append(keys.Previous?.Id).Append('\n');
        foreach (var channel in channels)
        {
            text.Append(channel.Slug).Append(' ').Append(channel.Id).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }
}
