using System.Data.Common;

namespace Broadcast.Control.Persistence;

/// <summary>
/// A back-end: how to open a connection plus the few places where SQLite and PostgreSQL differ
/// (migration DDL, locking, constraint-violation codes). Everything else is shared SQL.
/// </summary>
public abstract class ControlDatabase : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres": also the folder of this back-end's migration scripts.</summary>
    public abstract string Kind { get; }

    public abstract DbConnection CreateConnection();

    /// <summary>DDL for the migrations ledger, run inside the migration transaction.</summary>
    internal abstract string CreateMigrationsTableSql { get; }

    /// <summary>Serialises concurrent migrators (several nodes starting at once); runs inside the transaction.</summary>
    internal virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        => Task.CompletedTask;

    /// <summary>Starts the migration transaction; SQLite takes its write lock here (BEGIN IMMEDIATE).</summary>
    internal virtual ValueTask<DbTransaction> BeginMigrationTransactionAsync(DbConnection connection, CancellationToken cancellationToken)
        => connection.BeginTransactionAsync(cancellationToken);

    /// <summary>
    /// Starts a transaction that will write: SQLite takes its write lock at once (BEGIN IMMEDIATE), so a read in it is
    /// never followed by a write that fails on a snapshot another writer moved past.
    /// </summary>
    internal ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken)
        => BeginMigrationTransactionAsync(connection, cancellationToken);

    internal abstract bool IsUniqueViolation(DbException exception);

    /// <summary>The events overlap guard (PostgreSQL exclusion constraint, SQLite trigger) refused a write.</summary>
    internal abstract bool IsOverlapViolation(DbException exception);

    internal abstract bool IsForeignKeyViolation(DbException exception);

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await OnOpenedAsync(connection, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected virtual Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Applies pending migrations; see <see cref="MigrationRunner"/>.</summary>
    public Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default)
        => MigrationRunner.MigrateAsync(this, cancellationToken);

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Builds the back-end named by <c>Database:Kind</c>.</summary>
    public static ControlDatabase Create(string? kind, string? connectionString)
    {
        var k = string.IsNullOrWhiteSpace(kind) ? "sqlite" : kind.Trim().ToLowerInvariant();
        return k switch
        {
            "sqlite" => new SqliteControlDatabase(string.IsNullOrWhiteSpace(connectionString)
                ? SqliteControlDatabase.DefaultConnectionString : connectionString),
            "postgres" or "postgresql" => new PostgresControlDatabase(
                string.IsNullOrWhiteSpace(connectionString)
                    ? throw new InvalidOperationException("Database:Kind is postgres but Database:ConnectionString is empty.")
                    : connectionString),
            _ => throw new InvalidOperationException($"Database:Kind '{kind}' is not supported; use 'sqlite' or 'postgres'."),
        };
    }
}
