using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Analytics;

/// <summary>One playback node's viewers of a broadcast in one 10 s bucket (Unix seconds), split by delivery.</summary>
/// <remarks><see cref="Quality"/>: what the node's CMCD players said in the bucket (migration 0024), null when none did.
/// <see cref="NotFound"/>, <see cref="Unavailable"/>: the broadcast's media requests the node answered 404 and 503 (migration 0026).</remarks>
public sealed record AudienceSampleRow(string BroadcastId, string ChannelId, long BucketStart, string NodeId, int Viewers, int Hls,
    int LowLatencyHls, int Dash, long Uncounted, int Whep = 0, PlaybackQualityCounts? Quality = null, long NotFound = 0, long Unavailable = 0);

/// <summary>
/// One viewer of a broadcast: its salted key (never an address), first and last bucket seen, its latest delivery, and whether
/// it sent CMCD and reported a buffer starvation (migration 0025: each kept once true, over the show and every node); its rung
/// in the bucket written (<see cref="AudienceRungs"/>, null when none is known) goes to the bucket's split by rung (migration
/// 0027), not to the viewer's row.
/// </summary>
public sealed record AudienceSessionRow(string Viewer, long FirstSeen, long LastSeen, string Delivery, bool Cmcd = false, bool Stalled = false,
    string? Rung = null);

/// <summary>
/// The audience kept per broadcast (migration 0022): the samples each playback node writes every 10 s, the viewers they
/// upsert (the same viewer on two nodes is one row), the daily salt that keys viewers, the report and the purge; and with
/// each sample the node's CMCD playback quality of the bucket (migration 0024, <see cref="PlaybackQualityRows"/>) and its
/// viewers by rung (migration 0027, <see cref="AudienceRungRows"/>).
/// </summary>
public sealed class AudienceStore(ControlDatabase database)
{
    /// <summary>Rows per INSERT: few enough parameters for either back-end, many enough to write 50,000 quickly.</summary>
    private const int RowsPerStatement = 400;

    private static readonly IReadOnlySet<string> NoViewers = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The salt of <paramref name="day"/> (UTC), made by the first node to ask and read by the others, so every node keys a
    /// viewer alike that day. Salts of days before yesterday are deleted: a stored key can no longer be tied to anyone.
    /// </summary>
    public async Task<byte[]> SaltAsync(DateOnly day, CancellationToken cancellationToken = default)
    {
        string name = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await Sql.ExecuteAsync(database, "INSERT INTO audience_salts (day, salt) VALUES (@day, @salt) ON CONFLICT (day) DO NOTHING", c =>
        {
            Sql.Add(c, "day", name);
            Sql.Add(c, "salt", RandomNumberGenerator.GetBytes(32));
        }, cancellationToken).ConfigureAwait(false);
        await Sql.ExecuteAsync(database, "DELETE FROM audience_salts WHERE day < @before",
            c => Sql.Add(c, "before", day.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false);
        var salts = await Sql.QueryAsync(database, "SELECT salt FROM audience_salts WHERE day = @day", c => Sql.Add(c, "day", name),
            r => r.GetFieldValue<byte[]>(0), cancellationToken).ConfigureAwait(false);
        return salts[0];
    }

    /// <summary>The first bucket any node stored for a broadcast (Unix seconds), or null when none has been.</summary>
    public async Task<long?> FirstBucketAsync(string channelId, string broadcastId, CancellationToken cancellationToken = default)
    {
        var first = await Sql.QueryAsync(database, "SELECT MIN(bucket_start) FROM audience_samples WHERE channel_id = @c AND broadcast_id = @b",
            c =>
            {
                Sql.Add(c, "c", channelId);
                Sql.Add(c, "b", broadcastId);
            }, r => r.IsDBNull(0) ? (long?)null : r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        return first.Count == 0 ? null : first[0];
    }

    /// <summary>A viewer's stored key: HMAC-SHA256 of its 8-byte session key under the day's salt, 32 hex digits.</summary>
    public static string ViewerKey(byte[] salt, ulong viewer)
    {
        Span<byte> input = stackalloc byte[8];
        BitConverter.TryWriteBytes(input, viewer);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(salt, input, mac);
        return Convert.ToHexStringLower(mac[..16]);
    }

    /// <summary>
    /// Upserts one node's viewers of a bucket and writes its sample (again: replaced), in one transaction. A viewer another
    /// node already counted in this bucket (migration 0023's <c>last_node</c>) leaves this node's row, by its delivery: a
    /// viewer on two nodes in one bucket counts once in the concurrent viewers, and in the split by rung.
    /// </summary>
    public async Task WriteAsync(AudienceSampleRow sample, IReadOnlyList<AudienceSessionRow> sessions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(sessions);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
        await UpsertSessionsAsync(connection, transaction, sample, sessions, cancellationToken).ConfigureAwait(false);
        var elsewhere = await CountedElsewhereAsync(connection, transaction, sample, sessions, cancellationToken).ConfigureAwait(false);
        sample = Without(sample, sessions, elsewhere);
        await Sql.ExecuteAsync(connection, transaction,
            "INSERT INTO audience_samples (broadcast_id, bucket_start, node_id, channel_id, viewers, hls, llhls, dash, whep, uncounted, not_found, unavailable) " +
            "VALUES (@b, @t, @n, @c, @v, @h, @l, @d, @w, @u, @nf, @ua) ON CONFLICT (channel_id, broadcast_id, bucket_start, node_id) DO UPDATE SET " +
            "viewers = excluded.viewers, hls = excluded.hls, llhls = excluded.llhls, dash = excluded.dash, whep = excluded.whep, uncounted = excluded.uncounted, " +
            "not_found = excluded.not_found, unavailable = excluded.unavailable", c =>
            {
                Sql.Add(c, "b", sample.BroadcastId);
                Sql.Add(c, "t", sample.BucketStart);
                Sql.Add(c, "n", sample.NodeId);
                Sql.Add(c, "c", sample.ChannelId);
                Sql.Add(c, "v", (long)sample.Viewers);
                Sql.Add(c, "h", (long)sample.Hls);
                Sql.Add(c, "l", (long)sample.LowLatencyHls);
                Sql.Add(c, "d", (long)sample.Dash);
                Sql.Add(c, "w", (long)sample.Whep);
                Sql.Add(c, "u", sample.Uncounted);
                Sql.Add(c, "nf", sample.NotFound);
                Sql.Add(c, "ua", sample.Unavailable);
            }, cancellationToken).ConfigureAwait(false);
        await PlaybackQualityRows.WriteAsync(connection, transaction, sample, cancellationToken).ConfigureAwait(false);
        await AudienceRungRows.WriteAsync(connection, transaction, sample, AudienceRungRows.Count(sample.BucketStart, sessions, elsewhere),
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpsertSessionsAsync(DbConnection connection, DbTransaction transaction, AudienceSampleRow sample,
        IReadOnlyList<AudienceSessionRow> sessions, CancellationToken cancellationToken)
    {
        for (int start = 0; start < sessions.Count; start += RowsPerStatement)
        {
            int count = Math.Min(RowsPerStatement, sessions.Count - start);
            await Sql.ExecuteAsync(connection, transaction, UpsertSessions(count), c =>
            {
                Sql.Add(c, "b", sample.BroadcastId);
                Sql.Add(c, "c", sample.ChannelId);
                Sql.Add(c, "n", sample.NodeId);
                for (int i = 0; i < count; i++)
                {
                    var s = sessions[start + i];
                    string n = i.ToString(CultureInfo.InvariantCulture);
                    Sql.Add(c, "v" + n, s.Viewer);
                    Sql.Add(c, "f" + n, s.FirstSeen);
                    Sql.Add(c, "l" + n, s.LastSeen);
                    Sql.Add(c, "d" + n, s.Delivery);
                    Sql.Add(c, "m" + n, s.Cmcd);
                    Sql.Add(c, "s" + n, s.Stalled);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The viewers of <paramref name="sessions"/> that another node counted in this bucket (read after the upsert, in its
    /// transaction: the row lock orders two nodes writing one viewer).
    /// </summary>
    private static async Task<IReadOnlySet<string>> CountedElsewhereAsync(DbConnection connection, DbTransaction transaction,
        AudienceSampleRow sample, IReadOnlyList<AudienceSessionRow> sessions, CancellationToken cancellationToken)
    {
        if (sessions.Count == 0) return NoViewers;
        var elsewhere = await Sql.QueryAsync(connection, transaction,
            "SELECT viewer FROM audience_sessions WHERE channel_id = @c AND broadcast_id = @b AND last_seen = @t AND last_node <> @n", c =>
            {
                Sql.Add(c, "c", sample.ChannelId);
                Sql.Add(c, "b", sample.BroadcastId);
                Sql.Add(c, "t", sample.BucketStart);
                Sql.Add(c, "n", sample.NodeId);
            }, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        return elsewhere.Count == 0 ? NoViewers : new HashSet<string>(elsewhere, StringComparer.Ordinal);
    }

    /// <summary><paramref name="sample"/> less the viewers of <paramref name="sessions"/> in <paramref name="counted"/> (another node's).</summary>
    private static AudienceSampleRow Without(AudienceSampleRow sample, IReadOnlyList<AudienceSessionRow> sessions, IReadOnlySet<string> counted)
    {
        if (counted.Count == 0) return sample;
        int viewers = 0, hls = 0, llhls = 0, dash = 0, whep = 0;
        foreach (var session in sessions)
        {
            if (session.LastSeen != sample.BucketStart || !counted.Contains(session.Viewer)) continue;
            viewers++;
            switch (session.Delivery)
            {
                case "hls": hls++; break;
                case "llhls": llhls++; break;
                case "dash": dash++; break;
                case "whep": whep++; break;
            }
        }

        return sample with
        {
            Viewers = Math.Max(0, sample.Viewers - viewers),
            Hls = Math.Max(0, sample.Hls - hls),
            LowLatencyHls = Math.Max(0, sample.LowLatencyHls - llhls),
            Dash = Math.Max(0, sample.Dash - dash),
            Whep = Math.Max(0, sample.Whep - whep),
        };
    }

    private static string UpsertSessions(int count)
    {
        var sql = new StringBuilder("INSERT INTO audience_sessions (broadcast_id, viewer, channel_id, first_seen, last_seen, delivery, last_node, cmcd, stalled) VALUES ");
        for (int i = 0; i < count; i++)
        {
            if (i > 0) sql.Append(", ");
            sql.Append(CultureInfo.InvariantCulture, $"(@b, @v{i}, @c, @f{i}, @l{i}, @d{i}, @n, @m{i}, @s{i})");
        }

        // Portable least/greatest (SQLite's MIN/MAX and PostgreSQL's LEAST/GREATEST differ): a CASE each.
        sql.Append(" ON CONFLICT (channel_id, broadcast_id, viewer) DO UPDATE SET ")
            .Append("first_seen = CASE WHEN excluded.first_seen < audience_sessions.first_seen THEN excluded.first_seen ELSE audience_sessions.first_seen END, ")
            .Append("last_seen = CASE WHEN excluded.last_seen > audience_sessions.last_seen THEN excluded.last_seen ELSE audience_sessions.last_seen END, ")
            .Append("delivery = CASE WHEN excluded.last_seen >= audience_sessions.last_seen THEN excluded.delivery ELSE audience_sessions.delivery END, ")
            // The node that counted the viewer in its latest bucket: the first to write that bucket keeps it.
            .Append("last_node = CASE WHEN excluded.last_seen > audience_sessions.last_seen THEN excluded.last_node ELSE audience_sessions.last_node END, ")
            // Once true, kept (migration 0025): OR is boolean on PostgreSQL, 0 or 1 on SQLite's integers.
            .Append("cmcd = excluded.cmcd OR audience_sessions.cmcd, stalled = excluded.stalled OR audience_sessions.stalled");
        return sql.ToString();
    }

    /// <summary>The report of one broadcast of <paramref name="channelId"/>, or null when nothing was recorded for it.</summary>
    public async Task<AudienceReport?> ReportAsync(string channelId, string broadcastId, CancellationToken cancellationToken = default)
    {
        void Bind(DbCommand c)
        {
            Sql.Add(c, "c", channelId);
            Sql.Add(c, "b", broadcastId);
        }

        var series = await Sql.QueryAsync(database,
            "SELECT bucket_start, SUM(viewers), SUM(hls), SUM(llhls), SUM(dash), SUM(uncounted), SUM(whep), SUM(not_found), SUM(unavailable) " +
            "FROM audience_samples WHERE channel_id = @c AND broadcast_id = @b GROUP BY bucket_start ORDER BY bucket_start", Bind,
            r => new AudiencePoint(DateTimeOffset.FromUnixTimeSeconds(Long(r, 0)), Long(r, 1), Long(r, 2), Long(r, 3), Long(r, 4), Long(r, 5), Long(r, 6),
                Long(r, 7), Long(r, 8)), cancellationToken).ConfigureAwait(false);
        // One pass over the viewers: how many, their watch time, and those that sent CMCD and stalled (migration 0025; a
        // CASE each, as the columns are boolean on PostgreSQL and integers on SQLite).
        var totals = (await Sql.QueryAsync(database,
            "SELECT COUNT(*), SUM(last_seen - first_seen + 10), SUM(CASE WHEN cmcd THEN 1 ELSE 0 END), " +
            "SUM(CASE WHEN cmcd AND stalled THEN 1 ELSE 0 END) FROM audience_sessions WHERE channel_id = @c AND broadcast_id = @b", Bind,
            r => (Count: Long(r, 0), Seconds: r.IsDBNull(1) ? 0 : Long(r, 1), Cmcd: r.IsDBNull(2) ? 0 : Long(r, 2), Stalled: r.IsDBNull(3) ? 0 : Long(r, 3)),
            cancellationToken).ConfigureAwait(false))[0];
        if (series.Count == 0 && totals.Count == 0) return null;
        var byDelivery = await Sql.QueryAsync(database,
            "SELECT delivery, COUNT(*) FROM audience_sessions WHERE channel_id = @c AND broadcast_id = @b GROUP BY delivery ORDER BY delivery", Bind,
            r => (Delivery: r.GetString(0), Count: Long(r, 1)), cancellationToken).ConfigureAwait(false);
        long median = 0;
        if (totals.Count > 0)
        {
            // The median watch time without reading every viewer: the middle one in order (the upper middle for an even count).
            median = (await Sql.QueryAsync(database,
                "SELECT last_seen - first_seen + 10 AS watched FROM audience_sessions WHERE channel_id = @c AND broadcast_id = @b " +
                "ORDER BY watched LIMIT 1 OFFSET @middle", c =>
                {
                    Bind(c);
                    Sql.Add(c, "middle", totals.Count / 2);
                }, r => Long(r, 0), cancellationToken).ConfigureAwait(false))[0];
        }

        var quality = await PlaybackQualityRows.SeriesAsync(database, channelId, broadcastId, cancellationToken).ConfigureAwait(false);
        var rungs = await AudienceRungRows.SeriesAsync(database, channelId, broadcastId, cancellationToken).ConfigureAwait(false);
        return AudienceReport.From(series, totals.Count, totals.Seconds, median,
            byDelivery.ToDictionary(d => d.Delivery, d => d.Count, StringComparer.Ordinal), PlaybackQualityReport.From(quality, totals.Cmcd, totals.Stalled),
            rungs);
    }

    /// <summary>Deletes samples, their playback quality and rungs, and viewers last seen before <paramref name="before"/>; the rows deleted.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        long cutoff = before.ToUnixTimeSeconds();
        int samples = await Sql.ExecuteAsync(database, "DELETE FROM audience_samples WHERE bucket_start < @t", c => Sql.Add(c, "t", cutoff),
            cancellationToken).ConfigureAwait(false);
        int sessions = await Sql.ExecuteAsync(database, "DELETE FROM audience_sessions WHERE last_seen < @t", c => Sql.Add(c, "t", cutoff),
            cancellationToken).ConfigureAwait(false);
        int quality = await PlaybackQualityRows.PurgeAsync(database, cutoff, cancellationToken).ConfigureAwait(false);
        int rungs = await AudienceRungRows.PurgeAsync(database, cutoff, cancellationToken).ConfigureAwait(false);
        return samples + sessions + quality + rungs;
    }

    /// <summary>PostgreSQL's SUM of bigint is numeric, SQLite's an integer: read either as a long.</summary>
    private static long Long(DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
