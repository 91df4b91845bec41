using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Clips;

/// <summary>What an admin asks for: the range (either end a program date-time or seconds from the end), a title, and
/// optionally the recording to cut from (else the channel's live window).</summary>
public sealed record ClipSpec(ClipPoint? From, ClipPoint? To, string? Title, string? RecordingId);

/// <summary>
/// Clips (issue #49): cut from a channel's live (rewind) window or from one of its recordings, listed, renamed and
/// deleted. A clip's row is written only once its playlists are; a clip refused after its playlists were written (the
/// channel's count cap, a database error) has them deleted, so nothing half-made stays.
/// </summary>
public sealed partial class ClipService(
    IClipRepository repository,
    IClipMedia media,
    ChannelService channels,
    IRecordingRepository recordings,
    ControlSettings settings,
    TimeProvider time,
    ILogger<ClipService> logger)
{
    /// <summary>Clips a channel may have: each holds its segments in the store, and the hold is read per delete batch.</summary>
    public const int MaxPerChannel = 200;

    public const int MaxTitleLength = 200;

    /// <summary>The channel's clips, newest first; null when no such channel.</summary>
    public async Task<IReadOnlyList<Clip>?> ListAsync(string channelId, CancellationToken cancellationToken = default)
    {
        if (await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false) is null) return null;
        return await repository.ListAsync(channelId, cancellationToken).ConfigureAwait(false);
    }

    public Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default) =>
        repository.GetAsync(channelId, id, cancellationToken);

    /// <summary>
    /// Cuts a clip. Null when no such channel; throws <see cref="ValidationFailedException"/> (the field at fault),
    /// <see cref="ClipRangeException"/> (the range placed on what is stored) or <see cref="ConflictException"/> (the cap).
    /// </summary>
    public async Task<(Clip Clip, string ChannelSlug)?> CreateAsync(string channelId, ClipSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var channel = await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false);
        if (channel is null) return null;
        string title = CheckTitle(spec.Title, required: false) ?? "Clip";
        var (from, to) = CheckRange(spec.From, spec.To);
        string? recordingBroadcast = null;
        if (spec.RecordingId is { } recordingId)
        {
            var recording = await recordings.GetAsync(recordingId, cancellationToken).ConfigureAwait(false);
            if (recording is null || recording.ChannelId != channelId)
                throw ValidationFailedException.For("recordingId", $"The channel has no recording '{recordingId}'.");
            recordingBroadcast = recording.BroadcastId;
        }
        if ((await repository.ListAsync(channelId, cancellationToken).ConfigureAwait(false)).Count >= MaxPerChannel)
            throw new ConflictException($"A channel has at most {MaxPerChannel} clips; delete one first.");

        var now = Sql.Millis(time.GetUtcNow());
        string id = RowId.New(now);
        var request = new ClipCutRequest(channel.Slug, id, recordingBroadcast, from, to, settings.ClipMaxLength);
        var cut = await media.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        var asked = cut.Asked ?? (cut.StartsAt, cut.EndsAt);
        var clip = new Clip(id, channelId, title, cut.BroadcastId, Sql.Millis(cut.StartsAt), Sql.Millis(cut.EndsAt), cut.FirstSegment,
            cut.LastSegment, now, now) { Asked = (Sql.Millis(asked.From), Sql.Millis(asked.To)) };
        bool inserted;
        try
        {
            inserted = await repository.TryInsertAsync(clip, MaxPerChannel, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await media.DeleteAsync(channel.Slug, clip, withSegments: false, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        if (!inserted)
        {
            await media.DeleteAsync(channel.Slug, clip, withSegments: false, CancellationToken.None).ConfigureAwait(false);
            throw new ConflictException($"A channel has at most {MaxPerChannel} clips; delete one first.");
        }
        LogCreated(id, channel.Slug, cut.BroadcastId, cut.StartsAt, cut.EndsAt);
        media.Made(channel.Slug, clip, cut);
        return (clip, channel.Slug);
    }

    /// <summary>Renames; null when no such clip.</summary>
    public async Task<Clip?> RenameAsync(string channelId, string id, string? title, CancellationToken cancellationToken = default)
    {
        string checkedTitle = CheckTitle(title, required: true)!;
        if (!await repository.UpdateTitleAsync(channelId, id, checkedTitle, Sql.Millis(time.GetUtcNow()), cancellationToken).ConfigureAwait(false))
            return null;
        return await repository.GetAsync(channelId, id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the row, then the clip's objects (the segments it alone held among them); false when no such clip.</summary>
    public async Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var channel = await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false);
        var clip = channel is null ? null : await repository.GetAsync(channelId, id, cancellationToken).ConfigureAwait(false);
        if (clip is null || !await repository.DeleteAsync(channelId, id, cancellationToken).ConfigureAwait(false)) return false;
        // After the row: the hold no longer counts this clip when the store's segments are weighed.
        await media.DeleteAsync(channel!.Slug, clip, withSegments: true, cancellationToken).ConfigureAwait(false);
        LogDeleted(id, channel.Slug);
        return true;
    }

    /// <summary>
    /// A clip's MP4 download: the clip and its bytes; the clip with no bytes while the download is not made yet; null
    /// when no such clip (or channel).
    /// </summary>
    public async Task<(Clip Clip, ReadOnlyMemory<byte>? Mp4)?> ReadDownloadAsync(string channelId, string id,
        CancellationToken cancellationToken = default)
    {
        var channel = await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false);
        var clip = channel is null ? null : await repository.GetAsync(channelId, id, cancellationToken).ConfigureAwait(false);
        if (clip is null) return null;
        if (clip.DownloadBytes is null) return (clip, null);
        return (clip, await media.ReadDownloadAsync(channel!.Slug, clip, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The segment numbers the clips of a channel's broadcast hold, for the retention hold.</summary>
    public Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
        CancellationToken cancellationToken = default) => repository.HeldRangesAsync(channelSlug, broadcastId, cancellationToken);

    private static string? CheckTitle(string? title, bool required)
    {
        if (title is null && !required) return null;
        string trimmed = title?.Trim() ?? "";
        if (trimmed.Length == 0) throw ValidationFailedException.For("title", "A title is required.");
        if (trimmed.Length > MaxTitleLength) throw ValidationFailedException.For("title", $"At most {MaxTitleLength} characters.");
        if (trimmed.Any(char.IsControl)) throw ValidationFailedException.For("title", "Control characters are not allowed.");
        return trimmed;
    }

    /// <summary>What can be checked before the store is read: both ends given, offsets not past the end, and two ends of one
    /// kind in order and within <c>Clips:MaxSeconds</c> (mixed kinds are checked once placed on what is stored).</summary>
    private (ClipPoint From, ClipPoint To) CheckRange(ClipPoint? from, ClipPoint? to)
    {
        if (from is not { } f) throw ValidationFailedException.For("from", "Required: a UTC date-time or seconds from the end (0 or less).");
        if (to is not { } t) throw ValidationFailedException.For("to", "Required: a UTC date-time or seconds from the end (0 or less).");
        if (f.SecondsFromEnd > 0) throw ValidationFailedException.For("from", "Seconds from the end are 0 or less: nothing is stored after it.");
        if (t.SecondsFromEnd > 0) throw ValidationFailedException.For("to", "Seconds from the end are 0 or less: nothing is stored after it.");
        TimeSpan? length = f.At is { } a && t.At is { } b ? b - a
            : f.SecondsFromEnd is { } x && t.SecondsFromEnd is { } y ? TimeSpan.FromSeconds(y - x) : null;
        if (length <= TimeSpan.Zero) throw ValidationFailedException.For("to", "Must be after 'from'.");
        if (length > settings.ClipMaxLength)
            throw ValidationFailedException.For("to", $"A clip is at most {settings.ClipMaxLength.TotalSeconds:0} seconds (Clips:MaxSeconds).");
        return (f, t);
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information,
        Message = "Clip {ClipId} of channel {Channel} broadcast {BroadcastId} created ({StartsAt:O} to {EndsAt:O})")]
    private partial void LogCreated(string clipId, string channel, string broadcastId, DateTimeOffset startsAt, DateTimeOffset endsAt);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "Clip {ClipId} of channel {Channel} deleted")]
    private partial void LogDeleted(string clipId, string channel);
}
