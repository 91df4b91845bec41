using System.Data.Common;
using Npgsql;

namespace Broadcast.Control.Persistence;

/// <summary>The production back-end: a shared PostgreSQL database for every node.</summary>
public sealed class PostgresControlDatabase : ControlDatabase
{
    // Arbitrary but fixed: every node takes the same transaction-scoped advisory lock while migrating.
    private const long MigrationLockKey = 0x42_52_4f_41_44_43_53_54; // "BROADCST"

    private readonly NpgsqlDataSource _dataSource;

    public PostgresControlDatabase(string connectionString) => _dataSource = NpgsqlDataSource.Create(connectionString);

    public override string Kind => "postgres";

    public override DbConnection CreateConnection() => _dataSource.CreateConnection();

    internal override string CreateMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)";

    internal override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_advisory_xact_lock(@key)";
        command.Parameters.Add(new NpgsqlParameter("key", MigrationLockKey));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal override bool IsUniqueViolation(DbException exception)
        => exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    internal override bool IsOverlapViolation(DbException exception)
        => exception is PostgresException { SqlState: PostgresErrorCodes.ExclusionViolation };

    internal override bool IsForeignKeyViolation(DbException exception)
        => exception is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
