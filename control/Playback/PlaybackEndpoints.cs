using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Playback;

/// <summary>Body of <c>POST /api/channels/{id}/playback-tokens</c>; the lifetime defaults to one hour.</summary>
public sealed record PlaybackTokenRequest(int? ExpiresInSeconds);

/// <summary>A minted playback token and the channel's playlists with it; <see cref="DashUrl"/> is absent for an "aes-128"
/// channel, whose broadcasts write no MPD (HLS whole-segment encryption has no DASH form).</summary>
public sealed record PlaybackTokenResponse(string Token, string HlsUrl, string? DashUrl, DateTimeOffset ExpiresAt);

/// <summary>The signing keys in force, by id only: secrets never leave the server.</summary>
public sealed record SigningKeysResponse(string CurrentKeyId, string? PreviousKeyId);

/// <summary>Admin routes of private playback: mint a viewer token, see and rotate the signing keys.</summary>
public static class PlaybackEndpoints
{
    public const int DefaultLifetimeSeconds = 3600;

    public static IEndpointRouteBuilder MapPlaybackApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/api/channels/{id}/playback-tokens", MintAsync).RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScope(ApiScopes.PlaybackWrite, channelRouteValue: "id")
            .WithTags("playback")
            .Accepts<PlaybackTokenRequest>("application/json").Produces<PlaybackTokenResponse>().ProducesValidationProblem();
        var keys = endpoints.MapGroup("/api/playback/signing-keys").RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScopes(ApiScopes.PlaybackRead, ApiScopes.PlaybackWrite)
            .WithTags("playback");
        keys.MapGet("", (PlaybackAccessService access) => ToResponse(access.Keys));
        keys.MapPost("/rotate",
            async (PlaybackAccessService access, CancellationToken ct) => ToResponse(await access.RotateAsync(ct).ConfigureAwait(false)));
        endpoints.MapPlaybackNodeAccess();
        Protection.ContentKeyNodeEndpoint.MapContentKeyNodeAccess(endpoints);
        Analytics.AudienceNodeEndpoint.MapAudienceNodeAccess(endpoints);
        return endpoints;
    }

    private static async Task<IResult> MintAsync(string id, HttpContext context, ChannelService channels, PlaybackAccessService access,
        PublicUrls urls,
        CancellationToken cancellationToken)
    {
        int seconds = DefaultLifetimeSeconds;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.PlaybackTokenRequest,
                cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }

            seconds = request!.ExpiresInSeconds ?? DefaultLifetimeSeconds;
        }

        if (seconds < 1 || seconds > PlaybackAccessService.MaxLifetime.TotalSeconds)
        {
            return RequestBodies.Invalid("expiresInSeconds",
                $"The lifetime must be from 1 to {(int)PlaybackAccessService.MaxLifetime.TotalSeconds} seconds.");
        }

        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null)
        {
            return RequestBodies.NotFound("Channel", id);
        }

        var minted = await access.MintAsync(channel, TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
        string query = "?token=" + minted.Token;
        return Results.Json(new PlaybackTokenResponse(minted.Token, urls.HlsUrl(context.Request, channel.Slug) + query,
            channel.Protection == ChannelProtection.Aes128 ? null : urls.DashUrl(context.Request, channel.Slug) + query, minted.ExpiresAt),
            ControlJsonContext.Default.PlaybackTokenResponse);
    }

    private static IResult ToResponse(PlaybackKeyRing? ring) => ring is null
        ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Signing keys not loaded yet")
        : Results.Json(new SigningKeysResponse(ring.Current.Id, ring.Previous?.Id), ControlJsonContext.Default.SigningKeysResponse);
}
