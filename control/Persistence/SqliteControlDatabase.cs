using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Broadcast.Control.Persistence;

/// <summary>The embedded default: one SQLite file under ./data.</summary>
public sealed class SqliteControlDatabase : ControlDatabase
{
    public const string DefaultConnectionString = "Data Source=./data/broadcast.db";

    // Microsoft.Data.Sqlite.Core ships no provider; the e_sqlite3 bundle must be registered once per process.
    static SqliteControlDatabase() => SQLitePCL.Batteries_V2.Init();

    private readonly string _connectionString;

    public SqliteControlDatabase(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var dataSource = builder.DataSource;
        if (!string.IsNullOrEmpty(dataSource) && dataSource != ":memory:" && builder.Mode != SqliteOpenMode.Memory
            && !dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        _connectionString = builder.ConnectionString;
    }

    public override string Kind => "sqlite";

    public override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    internal override string CreateMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

    // BEGIN IMMEDIATE: take the write lock before reading schema_migrations, so two processes
    // cannot both decide a migration is pending.
    internal override ValueTask<DbTransaction> BeginMigrationTransactionAsync(DbConnection connection, CancellationToken cancellationToken)
        => ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    // SQLITE_CONSTRAINT (19): UNIQUE index violations on slug or key_hash.
    internal override bool IsUniqueViolation(DbException exception)
        => exception is SqliteException { SqliteErrorCode: 19 } && !IsOverlapViolation(exception) && !IsForeignKeyViolation(exception);

    // RAISE(ABORT, 'events_overlap') in the 0002 triggers surfaces as SQLITE_CONSTRAINT with that message.
    internal override bool IsOverlapViolation(DbException exception)
        => exception is SqliteException { SqliteErrorCode: 19 } e && e.Message.Contains("events_overlap", StringComparison.Ordinal);

    // SQLITE_CONSTRAINT_FOREIGNKEY (787) is the extended code of a foreign-key failure.
    internal override bool IsForeignKeyViolation(DbException exception)
        => exception is SqliteException { SqliteExtendedErrorCode: 787 };

    protected override async Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // WAL lets readers (key lookups on publish) proceed while the admin API writes;
        // busy_timeout makes a writer wait for the lock instead of failing at once.
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
