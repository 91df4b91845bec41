using System.Security.Cryptography;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Playback;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Api;

/// <summary>The admin REST API for channels. Every route requires the "admin" policy.</summary>
public static class ControlEndpoints
{
    internal static RouteGroupBuilder MapControlApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Every API route under the one error boundary: a refusal thrown below an endpoint (a field the service found wrong,
        // a conflict) is answered there as problem+json, so no endpoint maps one itself.
        var api = endpoints.MapGroup("").WithRefusalBoundary();
        var group = api.MapGroup("/api/channels").RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id")
            .WithTags("channels");
        group.MapPost("", CreateAsync).Accepts<CreateChannelRequest>("application/json").Produces<ChannelResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        group.MapGet("", ListAsync).Produces<List<ChannelResponse>>().FilteredToKeyChannels();
        group.MapGet("/{id}", GetAsync).Produces<ChannelResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{id}", (string id, HttpContext c, ChannelService s, PublicUrls u, CancellationToken ct) => UpdateAsync(id, c, s, u,
            replace: false, ct))
            .Accepts<UpdateChannelRequest>("application/json").Produces<ChannelResponse>().ProducesValidationProblem();
        group.MapPut("/{id}", (string id, HttpContext c, ChannelService s, PublicUrls u, CancellationToken ct) => UpdateAsync(id, c, s, u,
            replace: true, ct))
            .Accepts<UpdateChannelRequest>("application/json").Produces<ChannelResponse>().ProducesValidationProblem();
        group.MapPut("/{id}/audio-tracks", SetAudioTracksAsync).Accepts<AudioTracksRequest>("application/json").Produces<ChannelResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/rotate-key", RotateKeyAsync).Produces<ChannelResponse>();
        group.MapPost("/{id}/reveal-key", RevealKeyAsync).Produces<RevealKeyResponse>();
        group.MapPost("/{id}/revoke", RevokeAsync);
        group.MapPost("/{id}/end-broadcast", EndBroadcastAsync).Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{id}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapEventsApi();
        api.MapBreaksApi();
        api.MapDestinationsApi();
        api.MapClipsApi();
        api.MapAudienceApi();
        api.MapPlaybackApi();
        api.MapPullSourceApi();
        api.MapProgramApi();
        api.MapSessionApi();
        api.MapAccountsApi();
        api.MapApiKeysApi();
        api.MapWebhooksApi();
        api.MapOpenApi();
        return group;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ChannelService channels, PublicUrls urls, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.CreateChannelRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (!ReadProtection(request!.Protection, ChannelProtection.None, out var protection)) return InvalidProtection();
        if (InvalidKeyRotation(request.KeyRotationSegments) is { } invalidRotation) return invalidRotation;

        var issued = await channels.CreateAsync(
            new ChannelSpec(request!.Name, request.RequireSchedule ?? false, request.LowLatency ?? false, request.RealTime ?? false,
                request.RewindSeconds, protection ?? ChannelProtection.None, request.KeyRotationSegments ?? 0),
            cancellationToken).ConfigureAwait(false);

        if (request.PrivatePlayback == true)
        {
            await context.RequestServices.GetRequiredService<PlaybackAccessService>()
                .SetPrivateAsync(issued.Channel.Id, true, cancellationToken).ConfigureAwait(false);
        }

        var body = ToResponse(issued.Channel, issued.StreamKey, context.Request, urls);
        context.Response.Headers.Location = $"/api/channels/{issued.Channel.Id}";
        return Results.Json(body, ControlJsonContext.Default.ChannelResponse, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, ChannelService channels, PublicUrls urls, CancellationToken cancellationToken)
    {
        var list = await channels.ListAsync(cancellationToken).ConfigureAwait(false);
        var limit = ApiKeyClaims.LimitedChannels(request.HttpContext.User);
        var body = list.Where(c => limit is null || limit.Contains(c.Id)).Select(c => ToResponse(c, c.StreamKeyHint, request, urls)).ToList();
        return Results.Json(body, ControlJsonContext.Default.ListChannelResponse);
    }

    private static async Task<IResult> GetAsync(string id, HttpRequest request, ChannelService channels, IChannelLiveStatus live, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null)
        {
            return NotFound(id);
        }

        var state = await live.GetAsync(channel, cancellationToken).ConfigureAwait(false);
        return Results.Json(ToResponse(channel, channel.StreamKeyHint, request, urls) with { Live = state },
            ControlJsonContext.Default.ChannelResponse);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, ChannelService channels, PublicUrls urls, bool replace,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.UpdateChannelRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (replace && request!.Name is null)
        {
            return RequestBodies.Invalid("name", "The name is required.");
        }

        if (!ReadProtection(request!.Protection, replace ? ChannelProtection.None : null, out var protection)) return InvalidProtection();
        // PUT: an omitted rotation becomes 0 (one key per broadcast), as an omitted protection becomes "none"; PATCH keeps it.
        var rotation = request.KeyRotationSegments ?? (replace ? 0 : null);
        if (InvalidKeyRotation(rotation) is { } invalidRotation) return invalidRotation;

        // PUT: flags not sent return to their defaults (false), the rewind window to the server's (null); PATCH keeps them.
        var rewind = request!.RewindSecondsSent || replace ? RewindChange.To(request.RewindSeconds) : RewindChange.Keep;
        var channel = await channels.UpdateAsync(id, request.Name, request.RequireSchedule ?? (replace ? false : null),
            request.LowLatency ?? (replace ? false : null), request.RealTime ?? (replace ? false : null), rewind,
            cancellationToken).ConfigureAwait(false);

        // PUT: an omitted protection becomes "none", as the flags become false. Scheme and rotation go through one door together.
        if (channel is not null && ((protection is { } scheme && scheme != channel.Protection)
                || (rotation is { } segments && segments != channel.KeyRotationSegments)))
            channel = await channels.SetProtectionAsync(id, protection ?? channel.Protection, rotation, cancellationToken).ConfigureAwait(false);

        // PUT: like the other flags, an omitted privatePlayback becomes false.
        if (channel is not null && (request.PrivatePlayback ?? (replace ? false : null)) is { } privatePlayback)
        {
            await context.RequestServices.GetRequiredService<PlaybackAccessService>()
                .SetPrivateAsync(id, privatePlayback, cancellationToken).ConfigureAwait(false);
        }

        return channel is null
            ? NotFound(id)
            : Results.Json(ToResponse(channel, channel.StreamKeyHint, context.Request, urls), ControlJsonContext.Default.ChannelResponse);
    }

    /// <summary>Names the encoder's untagged audio tracks; broadcasts that start from now on take the names.</summary>
    private static async Task<IResult> SetAudioTracksAsync(string id, HttpContext context, ChannelService channels, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.AudioTracksRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (request!.Tracks is null || request.Tracks.Any(t => t is null)) return RequestBodies.Invalid("tracks", "A list of tracks is required.");
        var channel = await channels.SetAudioTracksAsync(id, request.Tracks.Select(t => (t.Language, t.Purpose)).ToArray(),
            cancellationToken).ConfigureAwait(false);
        return channel is null
            ? NotFound(id)
            : Results.Json(ToResponse(channel, channel.StreamKeyHint, context.Request, urls), ControlJsonContext.Default.ChannelResponse);
    }

    private static async Task<IResult> RotateKeyAsync(string id, HttpRequest request, ChannelService channels, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        var issued = await channels.RotateKeyAsync(id, cancellationToken).ConfigureAwait(false);
        return issued is null
            ? NotFound(id)
            : Results.Json(ToResponse(issued.Channel, issued.StreamKey, request, urls), ControlJsonContext.Default.ChannelResponse);
    }

    private static async Task<IResult> RevealKeyAsync(string id, HttpRequest request, ChannelService channels, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        IssuedChannel? issued;
        try
        {
            issued = await channels.RevealKeyAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (CryptographicException)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Stream key cannot be revealed",
                detail: "The key was encrypted under a different server secret (Secrets:Key). Rotate it to issue a new one.");
        }

        return issued is null
            ? NotFound(id)
            : Results.Json(new RevealKeyResponse(issued.Channel.Id, issued.StreamKey, urls.RtmpUrl(request), urls.SrtUrl(request, issued.StreamKey)),
                ControlJsonContext.Default.RevealKeyResponse);
    }

    private static async Task<IResult> RevokeAsync(string id, HttpRequest request, ChannelService channels, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        var channel = await channels.RevokeAsync(id, cancellationToken).ConfigureAwait(false);
        return channel is null
            ? NotFound(id)
            : Results.Json(ToResponse(channel, channel.StreamKeyHint, request, urls), ControlJsonContext.Default.ChannelResponse);
    }

    /// <summary>
    /// "End broadcast": ends the channel's live broadcast now (final manifests, the recording closed), also one that is
    /// waiting for its encoder (a drop, or a stop inside a scheduled event). 409 when nothing is live here.
    /// </summary>
    private static async Task<IResult> EndBroadcastAsync(string id, ChannelService channels, IBroadcastTerminator terminator,
        CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null) return NotFound(id);
        return await terminator.EndBroadcastAsync(channel, "ended by an admin", cancellationToken).ConfigureAwait(false)
            ? Results.NoContent()
            : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not live",
                detail: $"Channel '{channel.Slug}' has no live broadcast on this node.");
    }

    /// <summary>
    /// Deletes the channel with its live and recorded media (see <see cref="ChannelDeletion"/>): 409 while it is live,
    /// 503 when the store could not be emptied (the channel is kept, private flag included; try again).
    /// </summary>
    private static async Task<IResult> DeleteAsync(string id, ChannelDeletion deletion, CancellationToken cancellationToken)
        => await deletion.DeleteAsync(id, cancellationToken).ConfigureAwait(false) switch
        {
            ChannelDeletionOutcome.Deleted => Results.NoContent(),
            ChannelDeletionOutcome.Live => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Channel is live",
                detail: "The channel is broadcasting (or waiting for its encoder to reconnect, or its last broadcast's final manifests are " +
                    "still being written). End the broadcast first: stop the encoder, " +
                    "end its event (POST /api/events/{id}/end), remove its pull source (DELETE /api/channels/{id}/source) or stop its program " +
                    "(DELETE /api/channels/{id}/program), then delete the " +
                    "channel again. Its live and recorded media are deleted with it; to keep a recording, download it before."),
            ChannelDeletionOutcome.StoreFailed => Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Channel media could not be deleted",
                detail: "The channel's objects in the segment store could not all be deleted, so the channel is kept " +
                    "(a private one stays private). Try again when the store is reachable."),
            _ => NotFound(id),
        };

    private static ChannelResponse ToResponse(Channel channel, string streamKey, HttpRequest request, PublicUrls urls)
        => new(channel.Id, channel.Name, channel.Slug, streamKey, urls.RtmpUrl(request), urls.HlsUrl(request, channel.Slug),
            channel.Protection == ChannelProtection.Aes128 ? null : urls.DashUrl(request, channel.Slug), channel.RequireSchedule, channel.LowLatency, channel.Revoked, channel.CreatedAt,
            PrivatePlayback: request.HttpContext.RequestServices.GetService<PlaybackAccessService>()?.IsPrivate(channel.Slug) ?? false,
            SrtUrl: urls.SrtUrl(request, streamKey), BackupRtmpUrl: urls.BackupRtmpUrl(), RealTime: channel.RealTime,
            WhepUrl: urls.WhepUrl(request, channel.Slug), RewindSeconds: channel.RewindSeconds,
            AudioTracks: channel.AudioTracks is { Count: > 0 } tracks
                ? [.. tracks.Select(t => new AudioTrackName(t.Language, AudioTrackNames.PurposeName(t.Purpose)))] : null,
            Protection: ChannelProtections.Name(channel.Protection), KeyRotationSegments: channel.KeyRotationSegments);

    /// <summary>A body's protection: absent takes <paramref name="absent"/>; false for a name that is not "none", "cenc", "cbcs" or "aes-128".</summary>
    private static bool ReadProtection(string? name, ChannelProtection? absent, out ChannelProtection? protection)
    {
        protection = absent;
        if (name is null) return true;
        if (!ChannelProtections.TryParse(name, out var read)) return false;
        protection = read;
        return true;
    }

    private static IResult InvalidProtection() =>
        RequestBodies.Invalid("protection", "The protection is \"none\", \"cenc\", \"cbcs\" or \"aes-128\" (docs/protection.md).");

    /// <summary>A body's rotation refused (outside 0..1000), or null when absent or fine. A value that is not a whole number never
    /// gets here: the JSON reader refuses it, naming the field (<see cref="RequestBodies"/>).</summary>
    private static IResult? InvalidKeyRotation(int? segments) =>
        segments is { } asked && ChannelKeyRotation.Error(asked) is { } error ? RequestBodies.Invalid(ChannelKeyRotation.Field, error) : null;

    private static IResult NotFound(string id)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Channel not found", detail: $"No channel has id '{id}'.");
}
