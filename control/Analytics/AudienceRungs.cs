using System.Data.Common;
using System.Globalization;
using System.Text;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Analytics;

/// <summary>
/// A rung's share of a broadcast: its peak concurrent viewers (a bucket's viewers on it, summed over the playback nodes) and
/// the minutes watched on it (each bucket a viewer was counted on it is <see cref="AudienceReport.Bucket"/> seconds).
/// </summary>
public sealed record AudienceRung(long PeakViewers, double MinutesWatched);

/// <summary>
/// The rung a viewer watched in a bucket (the rendition its latest media request named on the origin), and the bound on
/// them: the origin keeps at most <see cref="MaxRungs"/> names per channel and reports the rest as <see cref="Other"/>, so a
/// broadcast's bucket has at most <see cref="MaxValues"/> rungs; a name is a store key's segment of at most
/// <see cref="MaxNameLength"/> characters.
/// </summary>
public static class AudienceRungs
{
    /// <summary>The origin's cap (origin's <c>ViewerRungs.MaxRungs</c>; the two are held equal by a test).</summary>
    public const int MaxRungs = 16;

    public const string Other = "other";

    /// <summary>The rungs of one broadcast's bucket: the names, and "other".</summary>
    public const int MaxValues = MaxRungs + 1;

    public const int MaxNameLength = 64;

    /// <summary>A rung name as the store names renditions: 1 to 64 of [A-Za-z0-9._-], not starting with a dot.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}

/// <summary>
/// The <c>audience_rungs</c> table (migration 0027): one node's viewers of a broadcast's bucket per rung, written in
/// <see cref="AudienceStore.WriteAsync"/>'s transaction beside its sample (a viewer another node counted in the bucket left
/// out, as for the delivery), and read back summed over nodes for the report.
/// </summary>
internal static class AudienceRungRows
{
    /// <summary>
    /// The viewers of <paramref name="sessions"/> counted in the sample's bucket by rung, less those another node counted
    /// (<paramref name="countedElsewhere"/>); viewers with no rung are in no rung. Names past <see cref="AudienceRungs.MaxValues"/>
    /// fold into "other" (the node post and the origin already bound them: this keeps the table bounded whatever the caller).
    /// </summary>
    public static Dictionary<string, long> Count(long bucket, IReadOnlyList<AudienceSessionRow> sessions, IReadOnlySet<string> countedElsewhere)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var session in sessions)
        {
            if (session.Rung is not { } rung || session.LastSeen != bucket || countedElsewhere.Contains(session.Viewer)) continue;
            int names = counts.Count - (counts.ContainsKey(AudienceRungs.Other) ? 1 : 0);
            if (rung != AudienceRungs.Other && names >= AudienceRungs.MaxRungs && !counts.ContainsKey(rung)) rung = AudienceRungs.Other;
            counts[rung] = counts.GetValueOrDefault(rung) + 1;
        }

        return counts;
    }

    /// <summary>Writes (again: replaces) the node's rungs of the sample's bucket.</summary>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, AudienceSampleRow sample,
        IReadOnlyDictionary<string, long> counts, CancellationToken cancellationToken)
    {
        void Key(DbCommand c)
        {
            Sql.Add(c, "b", sample.BroadcastId);
            Sql.Add(c, "t", sample.BucketStart);
            Sql.Add(c, "n", sample.NodeId);
            Sql.Add(c, "c", sample.ChannelId);
        }

        await Sql.ExecuteAsync(connection, transaction,
            "DELETE FROM audience_rungs WHERE channel_id = @c AND broadcast_id = @b AND bucket_start = @t AND node_id = @n", Key,
            cancellationToken).ConfigureAwait(false);
        if (counts.Count == 0) return;
        var sql = new StringBuilder("INSERT INTO audience_rungs (broadcast_id, bucket_start, node_id, channel_id, rung, viewers) VALUES ");
        for (int i = 0; i < counts.Count; i++)
        {
            if (i > 0) sql.Append(", ");
            sql.Append(CultureInfo.InvariantCulture, $"(@b, @t, @n, @c, @r{i}, @v{i})");
        }

        await Sql.ExecuteAsync(connection, transaction, sql.ToString(), c =>
        {
            Key(c);
            int i = 0;
            foreach (var (rung, viewers) in counts)
            {
                string n = i++.ToString(CultureInfo.InvariantCulture);
                Sql.Add(c, "r" + n, rung);
                Sql.Add(c, "v" + n, viewers);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The broadcast's viewers per bucket and rung, summed over the nodes' rows.</summary>
    public static Task<List<(long Bucket, string Rung, long Viewers)>> SeriesAsync(ControlDatabase database, string channelId, string broadcastId,
        CancellationToken cancellationToken) =>
        Sql.QueryAsync(database,
            "SELECT bucket_start, rung, SUM(viewers) FROM audience_rungs WHERE channel_id = @c AND broadcast_id = @b " +
            "GROUP BY bucket_start, rung ORDER BY bucket_start, rung",
            c =>
            {
                Sql.Add(c, "c", channelId);
                Sql.Add(c, "b", broadcastId);
            },
            r => (Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)),
            cancellationToken);

    /// <summary>Deletes the rows of buckets before <paramref name="cutoff"/> (Unix seconds), with the audience's samples.</summary>
    public static Task<int> PurgeAsync(ControlDatabase database, long cutoff, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(database, "DELETE FROM audience_rungs WHERE bucket_start < @t", c => Sql.Add(c, "t", cutoff), cancellationToken);
}
