using System.Data.Common;
using System.Globalization;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Analytics;

/// <summary>
/// The <c>audience_quality</c> table (migration 0024): one node's <see cref="PlaybackQualityCounts"/> of a broadcast's bucket,
/// written in <see cref="AudienceStore.WriteAsync"/>'s transaction beside its audience sample, and the broadcast's buckets
/// read back summed over nodes for <see cref="PlaybackQualityReport"/>.
/// </summary>
internal static class PlaybackQualityRows
{
    private const string Columns = "sessions, stalled_sessions, stalls, startups, startup_ms_sum, startup_le_500, startup_le_1000, " +
        "startup_le_2000, startup_le_4000, startup_le_8000, startup_over_8000, bitrate_samples, bitrate_kbps_sum, throughput_samples, " +
        "throughput_kbps_sum, rung_switches, malformed, refused";

    private static readonly string[] Names = Columns.Split(", ");

    /// <summary>
    /// Writes (again: replaces) the node's quality of the sample's bucket; a sample without one deletes the node's row, so a
    /// bucket written again says what its last write said.
    /// </summary>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, AudienceSampleRow sample, CancellationToken cancellationToken)
    {
        void Key(DbCommand c)
        {
            Sql.Add(c, "b", sample.BroadcastId);
            Sql.Add(c, "t", sample.BucketStart);
            Sql.Add(c, "n", sample.NodeId);
            Sql.Add(c, "c", sample.ChannelId);
        }

        if (sample.Quality is not { } q)
        {
            await Sql.ExecuteAsync(connection, transaction,
                "DELETE FROM audience_quality WHERE channel_id = @c AND broadcast_id = @b AND bucket_start = @t AND node_id = @n", Key,
                cancellationToken).ConfigureAwait(false);
            return;
        }

        var bins = q.StartupBins ?? throw new ArgumentException("A quality row has its startup bins.", nameof(sample));
        long[] values =
        [
            q.Sessions, q.StalledSessions, q.Stalls, q.Startups, q.StartupMsSum, bins[0], bins[1], bins[2], bins[3], bins[4], bins[5],
            q.BitrateSamples, q.BitrateKbpsSum, q.ThroughputSamples, q.ThroughputKbpsSum, q.RungSwitches, q.MalformedValues, q.SessionsRefused,
        ];
        string parameters = string.Join(", ", Names.Select((_, i) => "@q" + i.ToString(CultureInfo.InvariantCulture)));
        string updates = string.Join(", ", Names.Select(n => $"{n} = excluded.{n}"));
        await Sql.ExecuteAsync(connection, transaction,
            $"INSERT INTO audience_quality (broadcast_id, bucket_start, node_id, channel_id, {Columns}) VALUES (@b, @t, @n, @c, {parameters}) " +
            $"ON CONFLICT (channel_id, broadcast_id, bucket_start, node_id) DO UPDATE SET {updates}", c =>
            {
                Key(c);
                for (int i = 0; i < values.Length; i++) Sql.Add(c, "q" + i.ToString(CultureInfo.InvariantCulture), values[i]);
            }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The broadcast's buckets that have quality, each summed over the nodes' rows, in time order.</summary>
    public static Task<List<PlaybackQualityPoint>> SeriesAsync(ControlDatabase database, string channelId, string broadcastId,
        CancellationToken cancellationToken)
    {
        string sums = string.Join(", ", Names.Select(n => $"SUM({n})"));
        return Sql.QueryAsync(database,
            $"SELECT bucket_start, {sums} FROM audience_quality WHERE channel_id = @c AND broadcast_id = @b GROUP BY bucket_start ORDER BY bucket_start",
            c =>
            {
                Sql.Add(c, "c", channelId);
                Sql.Add(c, "b", broadcastId);
            },
            r =>
            {
                long L(int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);
                var quality = new PlaybackQualityCounts(L(1), L(2), L(3), L(4), L(5), [L(6), L(7), L(8), L(9), L(10), L(11)], L(12), L(13), L(14),
                    L(15), L(16), L(17), L(18));
                return PlaybackQualityPoint.Of(DateTimeOffset.FromUnixTimeSeconds(L(0)), quality);
            }, cancellationToken);
    }

    /// <summary>Deletes the rows of buckets before <paramref name="cutoff"/> (Unix seconds), with the audience's samples.</summary>
    public static Task<int> PurgeAsync(ControlDatabase database, long cutoff, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(database, "DELETE FROM audience_quality WHERE bucket_start < @t", c => Sql.Add(c, "t", cutoff), cancellationToken);
}
