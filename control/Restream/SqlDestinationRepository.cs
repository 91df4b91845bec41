using System.Data.Common;
using Broadcast.Control.Persistence;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Restream;

/// <summary>The persistence seam for restream destinations.</summary>
public interface IDestinationRepository
{
    Task InsertAsync(DestinationRecord record, CancellationToken cancellationToken = default);

    Task<DestinationRecord?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>A channel's destinations, oldest first.</summary>
    Task<IReadOnlyList<DestinationRecord>> ListAsync(string channelId, CancellationToken cancellationToken = default);

    /// <summary>Replaces every column but id, channel and created_at; false when no such destination.</summary>
    Task<bool> UpdateAsync(DestinationRecord record, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default);
}

/// <summary>Destinations in plain SQL over either back-end (the common subset, as <see cref="SqlChannelRepository"/>).</summary>
public sealed class SqlDestinationRepository(ControlDatabase database) : IDestinationRepository
{
    private const string Columns =
        "id, channel_id, url, key_ciphertext, key_hint, enabled, allow_untrusted_certificate, multitrack, created_at, updated_at";

    public Task InsertAsync(DestinationRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Sql.ExecuteAsync(database,
            $"INSERT INTO restream_destinations ({Columns}) VALUES (@id, @channel_id, @url, @key_ciphertext, @key_hint, @enabled, " +
            "@allow_untrusted_certificate, @multitrack, @created_at, @updated_at)",
            c => Bind(c, record), cancellationToken);
    }

    public async Task<DestinationRecord?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM restream_destinations WHERE channel_id = @channel_id AND id = @id",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "id", id);
            }, Map, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<DestinationRecord>> ListAsync(string channelId, CancellationToken cancellationToken = default) =>
        await Sql.QueryAsync(database, $"SELECT {Columns} FROM restream_destinations WHERE channel_id = @channel_id ORDER BY created_at, id",
            c => Sql.Add(c, "channel_id", channelId), Map, cancellationToken).ConfigureAwait(false);

    public async Task<bool> UpdateAsync(DestinationRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return await Sql.ExecuteAsync(database,
            "UPDATE restream_destinations SET url = @url, key_ciphertext = @key_ciphertext, key_hint = @key_hint, enabled = @enabled, " +
            "allow_untrusted_certificate = @allow_untrusted_certificate, multitrack = @multitrack, updated_at = @updated_at " +
            "WHERE channel_id = @channel_id AND id = @id",
            c => Bind(c, record), cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default) =>
        await Sql.ExecuteAsync(database, "DELETE FROM restream_destinations WHERE channel_id = @channel_id AND id = @id",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "id", id);
            }, cancellationToken).ConfigureAwait(false) == 1;

    private static void Bind(DbCommand command, DestinationRecord record)
    {
        Sql.Add(command, "id", record.Id);
        Sql.Add(command, "channel_id", record.ChannelId);
        Sql.Add(command, "url", record.Url);
        Sql.Add(command, "key_ciphertext", record.KeyCiphertext);
        Sql.Add(command, "key_hint", record.KeyHint);
        Sql.Add(command, "enabled", record.Enabled);
        Sql.Add(command, "allow_untrusted_certificate", record.AllowUntrustedCertificate);
        Sql.Add(command, "multitrack", record.Multitrack);
        Sql.Add(command, "created_at", Sql.Millis(record.CreatedAt));
        Sql.Add(command, "updated_at", Sql.Millis(record.UpdatedAt));
    }

    private static DestinationRecord Map(DbDataReader reader) => new(
        Id: reader.GetString(0),
        ChannelId: reader.GetString(1),
        Url: reader.GetString(2),
        KeyCiphertext: reader.GetFieldValue<byte[]>(3),
        KeyHint: reader.GetString(4),
        Enabled: reader.GetBoolean(5),
        AllowUntrustedCertificate: reader.GetBoolean(6),
        Multitrack: reader.GetBoolean(7),
        CreatedAt: Sql.Time(reader, 8),
        UpdatedAt: Sql.Time(reader, 9));
}
