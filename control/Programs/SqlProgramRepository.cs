using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Programs;

/// <summary>A channel's program as stored: the API document that set it, who set it and when.</summary>
public sealed record StoredProgram(string ChannelId, string Document, string UpdatedBy, DateTimeOffset UpdatedAt);

/// <summary>Programs by their channel's id.</summary>
public interface IProgramRepository
{
    /// <summary>Inserts or replaces. False when the channel does not exist (foreign key).</summary>
    Task<bool> SetAsync(StoredProgram program, CancellationToken cancellationToken);

    Task<StoredProgram?> GetAsync(string channelId, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string channelId, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredProgram>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>Programs in table <c>channel_programs</c> (migration 0011); SQL shared by both back-ends.</summary>
public sealed class SqlProgramRepository(ControlDatabase database) : IProgramRepository
{
    private const string Columns = "channel_id, document, updated_by, updated_at";

    public async Task<bool> SetAsync(StoredProgram program, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(program);
        try
        {
            await Sql.ExecuteAsync(database,
                $"INSERT INTO channel_programs ({Columns}) VALUES (@id, @document, @by, @at) " +
                "ON CONFLICT (channel_id) DO UPDATE SET document = excluded.document, updated_by = excluded.updated_by, " +
                "updated_at = excluded.updated_at",
                c =>
                {
                    Sql.Add(c, "id", program.ChannelId);
                    Sql.Add(c, "document", program.Document);
                    Sql.Add(c, "by", program.UpdatedBy);
                    Sql.Add(c, "at", Sql.Millis(program.UpdatedAt));
                }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException e) when (database.IsForeignKeyViolation(e))
        {
            return false;
        }
    }

    public async Task<StoredProgram?> GetAsync(string channelId, CancellationToken cancellationToken)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM channel_programs WHERE channel_id = @id", c => Sql.Add(c, "id", channelId),
            Map,
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> DeleteAsync(string channelId, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(database, "DELETE FROM channel_programs WHERE channel_id = @id", c => Sql.Add(c, "id", channelId), cancellationToken)
            .ConfigureAwait(false) > 0;

    public async Task<IReadOnlyList<StoredProgram>> ListAsync(CancellationToken cancellationToken) =>
        await Sql.QueryAsync(database, $"SELECT {Columns} FROM channel_programs ORDER BY channel_id", _ => { }, Map,
            cancellationToken).ConfigureAwait(false);

    private static StoredProgram Map(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), Sql.Time(r, 3));
}
