using System.Buffers.Text;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Protection;

/// <summary>What an origin-only node asks for: the keys of <see cref="Kids"/> (32 hex digits each) of a channel by slug.</summary>
public sealed record ContentKeyNodeRequest(string? Channel, IReadOnlyList<string>? Kids);

/// <summary>One content key as a node receives it: its KID (32 hex digits) and its key (base64url).</summary>
public sealed record ContentKeyNodeKey(string Kid, string Key);

/// <summary>The keys found; KIDs that are no key of the channel are left out.</summary>
public sealed record ContentKeyNodeAnswer(IReadOnlyList<ContentKeyNodeKey> Keys);

/// <summary>
/// <c>POST /api/playback/content-keys</c>: content keys <b>in the clear</b>, for cluster nodes only. An origin-only node holds
/// no keys, yet viewers behind an edge reach it for a protected channel's ClearKey license; it asks here with the playback
/// node token (<c>Playback:NodeToken</c>) and nothing else (not the admin token, not a session, not anonymous), as it fetches
/// the private channels (<see cref="Playback.PlaybackNodeEndpoint"/>). The node checks the viewer's playback authorization
/// itself before it asks, and keeps found keys a minute. A body is at most 4 KiB and names at most
/// <see cref="ContentKeyStore.MaxKeysPerLookup"/> KIDs.
/// </summary>
public static class ContentKeyNodeEndpoint
{
    public const string Path = "/api/playback/content-keys";

    public const long MaxRequestBytes = 4096;

    public static IEndpointRouteBuilder MapContentKeyNodeAccess(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(Path, PostAsync)
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(ControlAuth.PlaybackNodeScheme).RequireAuthenticatedUser()
                .RequireRole(ControlAuth.PlaybackNodeRole))
            .WithTags("playback").Accepts<ContentKeyNodeRequest>("application/json").Produces<ContentKeyNodeAnswer>()
            .ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> PostAsync(HttpContext context, ChannelService channels, ContentKeyStore store,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ContentKeyNodeRequest, MaxRequestBytes,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (string.IsNullOrEmpty(request!.Channel) || !Slugs.IsValid(request.Channel))
            return RequestBodies.Invalid("channel", "A channel slug is required.");
        if (request.Kids is not { Count: > 0 } kids || kids.Count > ContentKeyStore.MaxKeysPerLookup)
            return RequestBodies.Invalid("kids", $"From 1 to {ContentKeyStore.MaxKeysPerLookup} key IDs.");
        var ids = new List<byte[]>(kids.Count);
        foreach (string? kid in kids)
        {
            if (kid is not { Length: 32 } || !IsHex(kid)) return RequestBodies.Invalid("kids", "Each key ID is 32 hexadecimal digits.");
            ids.Add(Convert.FromHexString(kid));
        }

        context.Response.Headers.CacheControl = "no-store";
        var channel = await channels.GetBySlugAsync(request.Channel, cancellationToken).ConfigureAwait(false);
        if (channel is null) return Results.Json(new ContentKeyNodeAnswer([]), ControlJsonContext.Default.ContentKeyNodeAnswer);
        var found = await store.FindAsync(channel.Id, ids, cancellationToken).ConfigureAwait(false);
        return Results.Json(new ContentKeyNodeAnswer([.. found.Select(k => new ContentKeyNodeKey(Convert.ToHexStringLower(k.KeyId),
            Base64Url.EncodeToString(k.Key)))]), ControlJsonContext.Default.ContentKeyNodeAnswer);
    }

    private static bool IsHex(string text)
    {
        foreach (char c in text)
        {
            if (!char.IsAsciiHexDigit(c)) return false;
        }

        return true;
    }
}
