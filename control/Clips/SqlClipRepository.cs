using Broadcast.Control.Persistence;

namespace Broadcast.Control.Clips;

public interface IClipRepository
{
    /// <summary>Inserts unless the channel already has <paramref name="maxPerChannel"/> clips (checked in the same statement).</summary>
    Task<bool> TryInsertAsync(Clip clip, int maxPerChannel, CancellationToken cancellationToken = default);

    Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<Clip>> ListAsync(string channelId, CancellationToken cancellationToken = default);

    Task<bool> UpdateTitleAsync(string channelId, string id, string title, DateTimeOffset updatedAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// The clip's ends were cut to the frame: its range is now exactly <paramref name="startsAt"/> to <paramref name="endsAt"/>.
    /// False when it was deleted meanwhile.
    /// </summary>
    Task<bool> SetCutAsync(string id, DateTimeOffset startsAt, DateTimeOffset endsAt, CancellationToken cancellationToken = default);

    /// <summary>The server's finisher is done with the clip (its ends cut and its download made, or given up on).</summary>
    Task<bool> SetFinishedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Clips made after <paramref name="createdAfter"/> that no finisher was done with (a node stopped first), with
    /// their channel's slug, oldest first: at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<(string ChannelSlug, Clip Clip)>> ListUnfinishedAsync(DateTimeOffset createdAfter, int limit,
        CancellationToken cancellationToken = default);

    /// <summary>The clip's MP4 download is stored: <paramref name="bytes"/> long. False when the clip was deleted meanwhile.</summary>
    Task<bool> SetDownloadAsync(string id, long bytes, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>The segment ranges the clips of a channel's broadcast hold, by the channel's slug: one query per delete batch.</summary>
    Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
        CancellationToken cancellationToken = default);
}

public sealed class SqlClipRepository(ControlDatabase database) : IClipRepository
{
    private const string Columns =
        "id, channel_id, title, broadcast_id, starts_at, ends_at, first_segment, last_segment, created_at, updated_at, asked_from, asked_to";

    private const string ReadColumns = Columns + ", frame_accurate, download_bytes";

    public async Task<bool> TryInsertAsync(Clip clip, int maxPerChannel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clip);
        // The count and the insert in one statement: two requests at once cannot both take the last place.
        return await Sql.ExecuteAsync(database,
            $"INSERT INTO clips ({Columns}) SELECT @id, @channel_id, @title, @broadcast_id, @starts_at, @ends_at, @first_segment, " +
            "@last_segment, @created_at, @updated_at, @asked_from, @asked_to WHERE (SELECT COUNT(*) FROM clips WHERE channel_id = @channel_id) < @max",
            c =>
            {
                Sql.Add(c, "id", clip.Id);
                Sql.Add(c, "channel_id", clip.ChannelId);
                Sql.Add(c, "title", clip.Title);
                Sql.Add(c, "broadcast_id", clip.BroadcastId);
                Sql.Add(c, "starts_at", Sql.Millis(clip.StartsAt));
                Sql.Add(c, "ends_at", Sql.Millis(clip.EndsAt));
                Sql.Add(c, "first_segment", clip.FirstSegment);
                Sql.Add(c, "last_segment", clip.LastSegment);
                Sql.Add(c, "created_at", Sql.Millis(clip.CreatedAt));
                Sql.Add(c, "updated_at", Sql.Millis(clip.UpdatedAt));
                // Never null (a typed value in both dialects): a clip with no range asked for was asked for what it holds.
                var asked = clip.Asked ?? (clip.StartsAt, clip.EndsAt);
                Sql.Add(c, "asked_from", Sql.Millis(asked.From));
                Sql.Add(c, "asked_to", Sql.Millis(asked.To));
                Sql.Add(c, "max", (long)maxPerChannel);
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {ReadColumns} FROM clips WHERE id = @id AND channel_id = @channel_id", c =>
        {
            Sql.Add(c, "id", id);
            Sql.Add(c, "channel_id", channelId);
        }, Map, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Clip>> ListAsync(string channelId, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database, $"SELECT {ReadColumns} FROM clips WHERE channel_id = @channel_id ORDER BY created_at DESC, id DESC",
            c => Sql.Add(c, "channel_id", channelId), Map, cancellationToken).ConfigureAwait(false);

    public async Task<bool> UpdateTitleAsync(string channelId, string id, string title, DateTimeOffset updatedAt,
        CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE clips SET title = @title, updated_at = @updated_at WHERE id = @id AND channel_id = @channel_id",
            c =>
            {
                Sql.Add(c, "title", title);
                Sql.Add(c, "updated_at", Sql.Millis(updatedAt));
                Sql.Add(c, "id", id);
                Sql.Add(c, "channel_id", channelId);
            }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetCutAsync(string id, DateTimeOffset startsAt, DateTimeOffset endsAt, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database,
            "UPDATE clips SET starts_at = @starts_at, ends_at = @ends_at, frame_accurate = @frame_accurate WHERE id = @id",
            c =>
            {
                Sql.Add(c, "starts_at", Sql.Millis(startsAt));
                Sql.Add(c, "ends_at", Sql.Millis(endsAt));
                Sql.Add(c, "frame_accurate", true);
                Sql.Add(c, "id", id);
            }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetDownloadAsync(string id, long bytes, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE clips SET download_bytes = @bytes WHERE id = @id", c =>
        {
            Sql.Add(c, "bytes", bytes);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetFinishedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE clips SET finished_at = @at WHERE id = @id", c =>
        {
            Sql.Add(c, "at", Sql.Millis(at));
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<(string ChannelSlug, Clip Clip)>> ListUnfinishedAsync(DateTimeOffset createdAfter, int limit,
        CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            $"SELECT c.slug, {string.Join(", ", ReadColumns.Split(", ").Select(k => "k." + k))} FROM clips k JOIN channels c ON c.id = k.channel_id " +
            "WHERE k.finished_at IS NULL AND k.asked_from IS NOT NULL AND k.created_at > @after ORDER BY k.created_at, k.id LIMIT @limit",
            c =>
            {
                Sql.Add(c, "after", Sql.Millis(createdAfter));
                Sql.Add(c, "limit", (long)limit);
            }, r => (r.GetString(0), Map(r, 1)), cancellationToken).ConfigureAwait(false);

    public async Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM clips WHERE id = @id AND channel_id = @channel_id", c =>
        {
            Sql.Add(c, "id", id);
            Sql.Add(c, "channel_id", channelId);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
        CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            "SELECT k.first_segment, k.last_segment FROM clips k JOIN channels c ON c.id = k.channel_id " +
            "WHERE c.slug = @slug AND k.broadcast_id = @broadcast_id",
            c =>
            {
                Sql.Add(c, "slug", channelSlug);
                Sql.Add(c, "broadcast_id", broadcastId);
            }, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);

    private static Clip Map(System.Data.Common.DbDataReader r) => Map(r, 0);

    /// <summary>A clip from <see cref="ReadColumns"/>, starting at column <paramref name="o"/>.</summary>
    private static Clip Map(System.Data.Common.DbDataReader r, int o) => new(
        r.GetString(o), r.GetString(o + 1), r.GetString(o + 2), r.GetString(o + 3), Sql.Time(r, o + 4), Sql.Time(r, o + 5), r.GetInt64(o + 6),
        r.GetInt64(o + 7), Sql.Time(r, o + 8), Sql.Time(r, o + 9))
    {
        Asked = Sql.NullableTime(r, o + 10) is { } from && Sql.NullableTime(r, o + 11) is { } to ? (from, to) : null,
        FrameAccurate = r.GetBoolean(o + 12),
        DownloadBytes = r.IsDBNull(o + 13) ? null : r.GetInt64(o + 13),
    };
}
