using System.Data.Common;

namespace Broadcast.Control.Persistence;

/// <summary>Small ADO.NET helpers shared by the repositories (plain SQL, both back-ends).</summary>
internal static class Sql
{
    public static void Add(DbCommand command, string name, object? value) => MigrationRunner.AddParameter(command, name, value);

    public static DateTimeOffset Time(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal).ToUniversalTime();

    public static DateTimeOffset? NullableTime(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Time(reader, ordinal);

    public static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Millisecond precision in UTC: what both SQLite text and PostgreSQL timestamptz round-trip exactly.</summary>
    public static DateTimeOffset Millis(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.UtcTicks - utc.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }

    public static async Task<int> ExecuteAsync(ControlDatabase database, string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One statement on <paramref name="connection"/> inside <paramref name="transaction"/>; the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, Action<DbCommand> bind,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one statement and, when it changed exactly one row, <paramref name="then"/> in the same transaction (an outbox
    /// row of the change, say): both are kept or neither is. The rows the statement changed.
    /// </summary>
    public static async Task<int> ExecuteThenAsync(ControlDatabase database, string sql, Action<DbCommand> bind,
        Func<DbConnection, DbTransaction, CancellationToken, Task>? then, CancellationToken cancellationToken)
    {
        if (then is null) return await ExecuteAsync(database, sql, bind, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
        int rows = await ExecuteAsync(connection, transaction, sql, bind, cancellationToken).ConfigureAwait(false);
        if (rows == 1) await then(connection, transaction, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows;
    }

    /// <summary>
    /// Runs an INSERT; false when it would break a unique constraint (the row, or one with the same unique key, exists),
    /// so callers tell "already there" from a failure without catching provider exceptions themselves.
    /// </summary>
    public static async Task<bool> TryInsertAsync(ControlDatabase database, string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
        => await TryInsertThenAsync(database, sql, bind, then: null, cancellationToken).ConfigureAwait(false);

    /// <summary>The same, with <paramref name="then"/> run in the insert's transaction (see <see cref="ExecuteThenAsync"/>).</summary>
    public static async Task<bool> TryInsertThenAsync(ControlDatabase database, string sql, Action<DbCommand> bind,
        Func<DbConnection, DbTransaction, CancellationToken, Task>? then, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteThenAsync(database, sql, bind, then, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException e) when (database.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public static async Task<List<T>> QueryAsync<T>(ControlDatabase database, string sql, Action<DbCommand> bind, Func<DbDataReader, T> map,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, transaction: null, sql, bind, map, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="QueryAsync{T}(ControlDatabase, string, Action{DbCommand}, Func{DbDataReader, T}, CancellationToken)"/>, inside
    /// <paramref name="transaction"/> (a read that must see the transaction's own writes), or on its own when null.</summary>
    public static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, Action<DbCommand> bind,
        Func<DbDataReader, T> map, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(map(reader));
        }

        return rows;
    }
}
