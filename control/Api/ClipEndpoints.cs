using System.Text.Json;
using Broadcast.Control.Clips;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// Body of <c>POST /api/channels/{id}/clips</c>: <c>from</c> and <c>to</c> each a UTC date-time string (program
/// date-time) or a number of seconds from the end of what is stored (0 or less); <c>recordingId</c> cuts from a recording
/// instead of the live window.
/// </summary>
public sealed record ClipRequest(JsonElement? From, JsonElement? To, string? Title, string? RecordingId);

/// <summary>Body of <c>PATCH /api/channels/{id}/clips/{clipId}</c>: the title.</summary>
public sealed record ClipPatchRequest(string? Title);

/// <summary>
/// A clip as the API shows it, with its playback URL, and its download's URL and size once the server made the MP4
/// (null until then).
/// </summary>
public sealed record ClipResponse(
    string Id,
    string ChannelId,
    string Title,
    string BroadcastId,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    long DurationMs,
    string HlsUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool FrameAccurate,
    string? DownloadUrl,
    long? DownloadBytes);

/// <summary><c>/api/channels/{id}/clips</c>: clips of a channel's broadcasts. Every route requires the "admin" policy.</summary>
public static class ClipEndpoints
{
    public static IEndpointRouteBuilder MapClipsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/clips").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("clips")
            .RequireScopes(ApiScopes.ClipsRead, ApiScopes.ClipsWrite, channelRouteValue: "id");
        group.MapPost("", CreateAsync).Accepts<ClipRequest>("application/json").Produces<ClipResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("", ListAsync).Produces<List<ClipResponse>>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{clipId}", GetAsync).Produces<ClipResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{clipId}", RenameAsync).Accepts<ClipPatchRequest>("application/json").Produces<ClipResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{clipId}/download", DownloadAsync).Produces(StatusCodes.Status200OK, contentType: "video/mp4")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{clipId}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(string id, HttpContext context, ClipService clips, PublicUrls urls,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ClipRequest, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        if (!TryPoint(request!.From, "from", out var from, out error) || !TryPoint(request.To, "to", out var to, out error)) return error!;
        // A range nothing stored covers is a ClipRangeException: 400 naming its field, or 409 with it (the boundary's).
        var created = await clips.CreateAsync(id, new ClipSpec(from, to, request.Title, request.RecordingId), cancellationToken)
            .ConfigureAwait(false);
        if (created is not { } made) return RequestBodies.NotFound("Channel", id);
        context.Response.Headers.Location = $"/api/channels/{id}/clips/{made.Clip.Id}";
        return Results.Json(ToResponse(made.Clip, made.ChannelSlug, context.Request, urls), ControlJsonContext.Default.ClipResponse,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(string id, HttpContext context, ClipService clips, Channels.ChannelService channels,
        PublicUrls urls, CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        var list = channel is null ? null : await clips.ListAsync(id, cancellationToken).ConfigureAwait(false);
        return list is null
            ? RequestBodies.NotFound("Channel", id)
            : Results.Json(list.Select(c => ToResponse(c, channel!.Slug, context.Request, urls)).ToList(),
                ControlJsonContext.Default.ListClipResponse);
    }

    private static async Task<IResult> GetAsync(string id, string clipId, HttpContext context, ClipService clips, Channels.ChannelService channels,
        PublicUrls urls, CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null) return RequestBodies.NotFound("Channel", id);
        var clip = await clips.GetAsync(id, clipId, cancellationToken).ConfigureAwait(false);
        return clip is null
            ? RequestBodies.NotFound("Clip", clipId)
            : Results.Json(ToResponse(clip, channel.Slug, context.Request, urls), ControlJsonContext.Default.ClipResponse);
    }

    private static async Task<IResult> RenameAsync(string id, string clipId, HttpContext context, ClipService clips,
        Channels.ChannelService channels, PublicUrls urls, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ClipPatchRequest, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null) return RequestBodies.NotFound("Channel", id);
        var renamed = await clips.RenameAsync(id, clipId, request!.Title, cancellationToken).ConfigureAwait(false);
        return renamed is null
            ? RequestBodies.NotFound("Clip", clipId)
            : Results.Json(ToResponse(renamed, channel.Slug, context.Request, urls), ControlJsonContext.Default.ClipResponse);
    }

    private static async Task<IResult> DeleteAsync(string id, string clipId, ClipService clips, CancellationToken cancellationToken) =>
        await clips.DeleteAsync(id, clipId, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : RequestBodies.NotFound("Clip", clipId);

    /// <summary>
    /// The clip's MP4 as an attachment named after its title (byte ranges served). 409 while the server is still making it,
    /// or for a clip that gets none (a protected broadcast's, an audio-only one).
    /// </summary>
    private static async Task<IResult> DownloadAsync(string id, string clipId, ClipService clips, CancellationToken cancellationToken)
    {
        var found = await clips.ReadDownloadAsync(id, clipId, cancellationToken).ConfigureAwait(false);
        if (found is not { } download) return RequestBodies.NotFound("Clip", clipId);
        if (download.Mp4 is not { } mp4)
            return download.Clip.DownloadBytes is null
                ? RequestBodies.Conflict("The clip's MP4 is not made yet: the server makes it in the background after the clip (downloadUrl is set "
                    + "then). A clip of a protected broadcast never has one (it would be the media in the clear), nor has an audio-only clip.")
                : RequestBodies.NotFound("Clip download", clipId);
        return Results.Bytes(mp4, "video/mp4", DownloadName(download.Clip.Title), enableRangeProcessing: true,
            lastModified: download.Clip.UpdatedAt);
    }

    /// <summary>The file name a browser saves the download as: the title's letters, digits, spaces, dashes and dots.</summary>
    internal static string DownloadName(string title)
    {
        var name = new string(title.Select(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_' or '.' ? c : '_').ToArray()).Trim(' ', '.');
        return (name.Length == 0 ? "clip" : name.Length > 100 ? name[..100] : name) + ".mp4";
    }

    /// <summary>A range end: a UTC date-time string, or a number of seconds from the end; absent is null (the service says
    /// it is required).</summary>
    private static bool TryPoint(JsonElement? value, string field, out ClipPoint? point, out IResult? error)
    {
        point = null;
        error = null;
        if (value is not { } element || element.ValueKind == JsonValueKind.Null) return true;
        if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out double seconds) && double.IsFinite(seconds)
            && Math.Abs(seconds) <= 7 * 86_400)
        {
            point = ClipPoint.FromEnd(seconds);
            return true;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            if (RequestBodies.TryParseUtc(element.GetString(), out var at, out string? why))
            {
                point = ClipPoint.Time(at);
                return true;
            }
            error = RequestBodies.Invalid(field, $"'{field}' {why}");
            return false;
        }
        error = RequestBodies.Invalid(field, $"'{field}' must be a UTC date-time such as 2026-05-01T13:45:00Z or seconds from the end (0 or less).");
        return false;
    }

    private static ClipResponse ToResponse(Clip c, string slug, HttpRequest request, PublicUrls urls) =>
        new(c.Id, c.ChannelId, c.Title, c.BroadcastId, c.StartsAt, c.EndsAt, (long)(c.EndsAt - c.StartsAt).TotalMilliseconds,
            urls.ClipHlsUrl(request, slug, c.Id), c.CreatedAt, c.UpdatedAt, c.FrameAccurate,
            c.DownloadBytes is null ? null : $"{urls.HttpBase(request)}/api/channels/{c.ChannelId}/clips/{c.Id}/download", c.DownloadBytes);
}
