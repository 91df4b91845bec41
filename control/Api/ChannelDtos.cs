using System.Text.Json;
using System.Text.Json.Serialization;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Api;

/// <summary>Body of <c>POST /api/channels</c>. <see cref="RewindSeconds"/>: the rewind window, 0 to 86400; absent or null
/// follows the server's <c>Packager:DvrSeconds</c>. <see cref="Protection"/>: "none" (absent), "cenc", "cbcs" or "aes-128"
/// (docs/protection.md). <see cref="KeyRotationSegments"/>: 0 (absent), one content key per broadcast, or 1 to 1000, a new
/// key every that many segments (<see cref="ChannelKeyRotation"/>).</summary>
public sealed record CreateChannelRequest(string? Name, bool? RequireSchedule, bool? LowLatency, bool? PrivatePlayback = null, bool? RealTime = null,
    int? RewindSeconds = null, string? Protection = null, int? KeyRotationSegments = null);

/// <summary>
/// A channel as the admin API shows it. <see cref="StreamKey"/> is in full after create and rotate,
/// masked everywhere else. <see cref="Live"/> is filled on <c>GET /api/channels/{id}</c> only. <see cref="SrtUrl"/> (present
/// while SRT ingest is on) carries the stream key in its stream id, masked or in full as <see cref="StreamKey"/> is.
/// <see cref="BackupRtmpUrl"/> is there when a backup ingest server is configured (<c>Public:BackupRtmpBaseUrl</c>).
/// <see cref="WhepUrl"/> is where a WHEP player plays the channel in real time (the same base as <see cref="HlsUrl"/>).
/// <see cref="RewindSeconds"/> is the channel's rewind window as stored, always written: null when it follows the
/// server's <c>Packager:DvrSeconds</c>. <see cref="Protection"/>: how the channel's next broadcasts are encrypted, "none",
/// "cenc", "cbcs" or "aes-128". <see cref="DashUrl"/> is absent for an "aes-128" channel: HLS whole-segment encryption has
/// no DASH form, so its broadcasts write no MPD. <see cref="KeyRotationSegments"/>: 0, one content key per broadcast, or a
/// new key every that many segments (<see cref="Channel.KeyRotationSegments"/>), always written.
/// </summary>
public sealed record ChannelResponse(
    string Id,
    string Name,
    string Slug,
    string StreamKey,
    string RtmpUrl,
    string HlsUrl,
    string? DashUrl,
    bool RequireSchedule,
    bool LowLatency,
    bool Revoked,
    DateTimeOffset CreatedAt,
    ChannelLiveState? Live = null,
    bool PrivatePlayback = false,
    string? SrtUrl = null,
    string? BackupRtmpUrl = null,
    bool RealTime = false,
    string? WhepUrl = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? RewindSeconds = null,
    List<AudioTrackName>? AudioTracks = null,
    string Protection = "none",
    int KeyRotationSegments = 0);

/// <summary>
/// How a channel names one of the encoder's audio tracks that carries no language tag. <see cref="Language"/>: an ISO 639
/// code, two letters ("fr") or three ("fra"); null leaves the track as the encoder sent it. <see cref="Purpose"/>:
/// <c>main</c> (absent), <c>cleanEffects</c>, <c>hearingImpaired</c> or <c>audioDescription</c>.
/// </summary>
public sealed record AudioTrackName(string? Language, string? Purpose = null);

/// <summary>
/// Body of <c>PUT /api/channels/{id}/audio-tracks</c>: the names of the encoder's audio tracks in the order it sends them
/// (the first is the default track), at most eight; an empty list names none.
/// </summary>
public sealed record AudioTracksRequest(List<AudioTrackName>? Tracks);

/// <summary>Body of <c>POST /api/channels/{id}/reveal-key</c>.</summary>
public sealed record RevealKeyResponse(string Id, string StreamKey, string RtmpUrl, string? SrtUrl = null);

