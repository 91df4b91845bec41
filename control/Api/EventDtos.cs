using System.Text.Json;
using System.Text.Json.Serialization;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;

namespace Broadcast.Control.Api;

/// <summary>
/// Body of <c>POST /api/events</c>, <c>PUT</c> and <c>PATCH /api/events/{id}</c>. Times are strings so a
/// malformed one is reported under its own field: ISO 8601 in UTC, ending in <c>Z</c> or <c>+00:00</c>;
/// any other offset is rejected (not converted), so an admin never schedules at a time they did not mean.
/// </summary>
public sealed record EventRequest(string? ChannelId, string? Title, string? Description, string? StartsAt, string? EndsAt, bool? Record)
{
    /// <summary>A URL the event pulls from its start to its end instead of waiting for a publisher; an empty url removes it.</summary>
    public PullSourceRequest? PullSource { get; init; }
}

/// <summary>An event as the API shows it. <c>state</c> is scheduled | ready | live | ended | cancelled;
/// <c>opensAt</c> is when publishing is first accepted.</summary>
public sealed record EventResponse(
    string Id,
    string ChannelId,
    string Title,
    string Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    DateTimeOffset OpensAt,
    bool Record,
    string State,
    bool Late,
    DateTimeOffset? LiveAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The event's pull source, with its state while it runs; absent when the event waits for a publisher.</summary>
    public PullSourceResponse? PullSource { get; init; }
}

/// <summary>Body of <c>PATCH</c> (and <c>PUT</c>, where name is required) <c>/api/channels/{id}</c>. <see cref="Protection"/>:
/// "none", "cenc", "cbcs" or "aes-128", from the channel's next broadcast. <see cref="KeyRotationSegments"/>: 0 (one content
/// key per broadcast) to 1000 (a new key every that many segments), from the channel's next broadcast too.</summary>
public sealed record UpdateChannelRequest(string? Name, bool? RequireSchedule, bool? LowLatency, bool? PrivatePlayback = null, bool? RealTime = null,
    string? Protection = null, int? KeyRotationSegments = null)
{
    private int? _rewindSeconds;

    /// <summary>The rewind window in seconds, 0 to 86400; null returns the channel to the server's <c>Packager:DvrSeconds</c>.</summary>
    /// <remarks>
    /// A <c>set</c>, not an <c>init</c>: the source-generated deserializer calls a setter only for a property the body names,
    /// whereas it passes every init-only property to the object initializer, present or not.
    /// </remarks>
    public int? RewindSeconds
    {
        get => _rewindSeconds;
        set
        {
            _rewindSeconds = value;
            RewindSecondsSent = true;
        }
    }

    /// <summary>
    /// Whether the body named <c>rewindSeconds</c> at all, null included: a PATCH without it keeps the window and
    /// <c>"rewindSeconds": null</c> returns it to the server's.
    /// </summary>
    [JsonIgnore]
    public bool RewindSecondsSent { get; private set; }
}

/// <summary>A recording. <c>hlsUrl</c>/<c>dashUrl</c> are absolute (Public:HttpBaseUrl or the request's host);
/// the paths are origin-relative. <c>dashPath</c> and <c>dashUrl</c> are absent for a recording with no MPD (an "aes-128"
/// broadcast: HLS whole-segment encryption has no DASH form).</summary>
public sealed record RecordingResponse(
    string Id,
    string ChannelId,
    string? EventId,
    string BroadcastId,
    string HlsPath,
    string? DashPath,
    string HlsUrl,
    string? DashUrl,
    long DurationMs,
    long SizeBytes,
    DateTimeOffset CreatedAt);

/// <summary>Body of <c>POST /api/session</c> (JSON sign-in).</summary>
public sealed record SignInRequest(string? Name, string? Password);

/// <summary>Body of <c>POST /api/session/password</c>.</summary>
public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// Who is signed in (and their role: <c>admin</c> or <c>moderator</c>), and the antiforgery token the dashboard sends as
/// <c>X-CSRF-TOKEN</c> on unsafe cookie-authenticated API calls.
/// </summary>
public sealed record SessionResponse(string Name, string Scheme, string? AntiforgeryToken, string AntiforgeryHeader, string Role);

/// <summary><c>GET /account/antiforgery</c>: the token for a hand-built sign-in form (field <c>formFieldName</c>) or fetch call
/// (header <c>headerName</c>).</summary>
public sealed record AntiforgeryResponse(string? Token, string FormFieldName, string? HeaderName);


internal static class EventMapping
{
    public static EventResponse ToResponse(this BroadcastEvent ev, TimeSpan lead) => new(
        ev.Id, ev.ChannelId, ev.Title, ev.Description, ev.StartsAt, ev.EndsAt, ev.OpensAt(lead), ev.Record, ev.State.ToWire(), ev.Late,
        ev.LiveAt, ev.EndedAt, ev.CreatedAt, ev.UpdatedAt);

    public static RecordingResponse ToResponse(this Recording r, string httpBase) => new(
        r.Id, r.ChannelId, r.EventId, r.BroadcastId, r.HlsPath, r.DashPath, httpBase + r.HlsPath, r.DashPath is null ? null : httpBase + r.DashPath, r.DurationMs, r.SizeBytes,
        r.CreatedAt);
}
