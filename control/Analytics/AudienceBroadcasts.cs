using System.Data.Common;
using System.Globalization;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Analytics;

/// <summary>
/// One broadcast of a channel whose audience is kept: its first and last 10 s bucket, its peak concurrent viewers (the
/// largest bucket summed over the nodes' rows, as in <see cref="AudienceReport.PeakViewers"/>) and its unique viewers.
/// </summary>
public sealed record AudienceBroadcast(string BroadcastId, DateTimeOffset FirstBucket, DateTimeOffset LastBucket, long PeakViewers,
    long UniqueViewers);

/// <summary>
/// The broadcasts of a channel with audience kept (migration 0022's tables), newest first: how a producer finds a
/// broadcast's id for its report (control/API.md "Audience"). Read only; <see cref="AudienceStore"/> writes and purges.
/// </summary>
public sealed class AudienceBroadcasts(ControlDatabase database)
{
    /// <summary>The most broadcasts one call lists (the route's <c>limit</c> is 1 to this).</summary>
    public const int MaxLimit = 100;

    /// <summary>
    /// At most <paramref name="limit"/> broadcasts of <paramref name="channelId"/>, the latest first bucket first (ties by
    /// id, descending, so the order is total). A broadcast is listed from its samples: every write of viewers writes one.
    /// </summary>
    public async Task<IReadOnlyList<AudienceBroadcast>> ListAsync(string channelId, int limit = MaxLimit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxLimit);
        // The peak is of buckets summed over nodes: an inner GROUP BY per bucket, then MAX per broadcast, over the primary
        // key's (channel_id, broadcast_id, bucket_start) prefix. Only the listed broadcasts' viewers are counted, each by its
        // own (channel_id, broadcast_id) prefix of audience_sessions' key: a channel's other shows are not read.
        return await Sql.QueryAsync(database,
            "WITH listed AS (SELECT b.broadcast_id, MIN(b.bucket_start) AS first_bucket, MAX(b.bucket_start) AS last_bucket, " +
            "MAX(b.viewers) AS peak FROM (SELECT broadcast_id, bucket_start, SUM(viewers) AS viewers FROM audience_samples " +
            "WHERE channel_id = @c GROUP BY broadcast_id, bucket_start) b GROUP BY b.broadcast_id " +
            "ORDER BY first_bucket DESC, b.broadcast_id DESC LIMIT @limit) " +
            "SELECT listed.broadcast_id, listed.first_bucket, listed.last_bucket, listed.peak, (SELECT COUNT(*) FROM audience_sessions s " +
            "WHERE s.channel_id = @c AND s.broadcast_id = listed.broadcast_id) FROM listed " +
            "ORDER BY listed.first_bucket DESC, listed.broadcast_id DESC", c =>
            {
                Sql.Add(c, "c", channelId);
                Sql.Add(c, "limit", limit);
            }, r => new AudienceBroadcast(r.GetString(0), DateTimeOffset.FromUnixTimeSeconds(Long(r, 1)), DateTimeOffset.FromUnixTimeSeconds(Long(r, 2)),
                Long(r, 3), Long(r, 4)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PostgreSQL's SUM of bigint is numeric, SQLite's an integer: read either as a long.</summary>
    private static long Long(DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
