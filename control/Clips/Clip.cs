using Broadcast.Refusals;

namespace Broadcast.Control.Clips;

/// <summary>
/// A clip: a range of one broadcast, played as VOD from the segments the broadcast stored (nothing is copied). Its
/// playlists are at <c>/live/{slug}/clips/{id}/master.m3u8</c>; <see cref="FirstSegment"/>..<see cref="LastSegment"/>
/// are the segment numbers it holds against retention. <see cref="StartsAt"/>/<see cref="EndsAt"/> are the program
/// date-times of its first segment's start and last segment's end (segment-accurate: at or around the range asked for).
/// </summary>
public sealed record Clip(
    string Id,
    string ChannelId,
    string Title,
    string BroadcastId,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    long FirstSegment,
    long LastSegment,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Its ends were cut to the frame after it was made (the server re-encodes the first and last segment in the
    /// background): <see cref="StartsAt"/>/<see cref="EndsAt"/> are then the range asked for, exactly.
    /// </summary>
    public bool FrameAccurate { get; init; }

    /// <summary>
    /// The range asked for, on the program date-time clock (offsets from the end placed on what was stored): what the
    /// server cuts the ends to. Null for a clip made before the server kept it (migration 0016).
    /// </summary>
    public (DateTimeOffset From, DateTimeOffset To)? Asked { get; init; }

    /// <summary>The size of its MP4 download once the server made it in the background (<see cref="IClipMedia.ReadDownloadAsync"/>); null before.</summary>
    public long? DownloadBytes { get; init; }
}

/// <summary>
/// One end of the range asked for: a program date-time, or seconds from the end of what is stored (the live edge of a
/// broadcast, or a recording's end): 0 or less.
/// </summary>
public readonly record struct ClipPoint(DateTimeOffset? At, double? SecondsFromEnd)
{
    public static ClipPoint Time(DateTimeOffset at) => new(at, null);

    public static ClipPoint FromEnd(double seconds) => new(null, seconds);
}

/// <summary>What the server's <see cref="IClipMedia"/> is asked to write.</summary>
/// <param name="RecordingBroadcastId">Cut from this broadcast's recording; null: from the channel's live (rewind) window.</param>
/// <param name="MaxLength">The longest range allowed (<c>Clips:MaxSeconds</c>), checked once offsets are placed.</param>
public sealed record ClipCutRequest(string ChannelSlug, string ClipId, string? RecordingBroadcastId, ClipPoint From, ClipPoint To,
    TimeSpan MaxLength);

/// <summary>What the server wrote: the broadcast the clip is of, its actual range and the segment numbers it holds.</summary>
public sealed record ClipCutResult(string BroadcastId, DateTimeOffset StartsAt, DateTimeOffset EndsAt, long FirstSegment, long LastSegment)
{
    /// <summary>The range asked for, placed on the program date-time clock (offsets from the end resolved); null if unknown.</summary>
    public (DateTimeOffset From, DateTimeOffset To)? Asked { get; init; }
}

/// <summary>
/// The range cannot be cut: a field is wrong once placed on what is stored (reversed, too long: 400), or nothing of
/// it is stored (<see cref="Conflict"/>: 409, the broadcast's segments are not there any more, or not yet).
/// </summary>
public sealed class ClipRangeException(string field, string message, bool conflict)
    : Refusal(conflict ? RefusalKind.Conflict : RefusalKind.Invalid, message, field, conflict ? "Conflict" : "Invalid request")
{
    public bool Conflict { get; } = conflict;
}

/// <summary>
/// A clip's objects in the segment store. The server implements it (control knows no store): it reads the channel's
/// stored playlists (live, or a recording's) and writes the clip's master and one VOD media playlist per rendition under
/// the channel's path, so private playback covers them. A write that fails midway deletes what it wrote.
/// </summary>
public interface IClipMedia
{
    /// <summary>Writes the clip's playlists; throws <see cref="ClipRangeException"/> for a range that cannot be cut.</summary>
    ValueTask<ClipCutResult> WriteAsync(ClipCutRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the clip's playlists and, <paramref name="withSegments"/>, the segments it alone held once no live window
    /// names them and its broadcast is not recorded. Called after its row is gone, so the retention hold no longer counts it.
    /// </summary>
    ValueTask DeleteAsync(string channelSlug, Clip clip, bool withSegments, CancellationToken cancellationToken);

    /// <summary>
    /// The clip's row is written: work that needs it may start (the server then cuts the clip's ends to the frame, and
    /// records the exact range on the row). Nothing by default.
    /// </summary>
    void Made(string channelSlug, Clip clip, ClipCutResult cut)
    {
    }

    /// <summary>The clip's MP4 download (<see cref="Clip.DownloadBytes"/> says when it is made); null when it is not stored.</summary>
    ValueTask<ReadOnlyMemory<byte>?> ReadDownloadAsync(string channelSlug, Clip clip, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ReadOnlyMemory<byte>?>(null);
}

/// <summary>A node without a store (tests of the control plane alone): no clip can be cut.</summary>
internal sealed class NoClipMedia : IClipMedia
{
    public ValueTask<ClipCutResult> WriteAsync(ClipCutRequest request, CancellationToken cancellationToken) =>
        throw new ClipRangeException("from", "This node has no media store to cut clips from.", conflict: true);

    public ValueTask DeleteAsync(string channelSlug, Clip clip, bool withSegments, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;
}
