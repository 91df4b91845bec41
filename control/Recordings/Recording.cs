namespace Broadcast.Control.Recordings;

/// <summary>
/// A finished recorded broadcast. <see cref="HlsPath"/> and <see cref="DashPath"/> are URL paths on the
/// origin (<c>/live/{slug}/recordings/{broadcastId}/master.m3u8</c>, <c>…/manifest.mpd</c>); <see cref="DashPath"/> is null for a
/// recording with no MPD (an AES-128 broadcast: HLS only).
/// </summary>
public sealed record Recording(
    string Id,
    string ChannelId,
    string? EventId,
    string BroadcastId,
    string HlsPath,
    string? DashPath,
    long DurationMs,
    long SizeBytes,
    DateTimeOffset CreatedAt);

/// <summary>Deletes a recording's media from the segment store. The server implements it; control knows no store.</summary>
public interface IRecordingMedia
{
    ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken);
}

internal sealed class NoRecordingMedia : IRecordingMedia
{
    public ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
