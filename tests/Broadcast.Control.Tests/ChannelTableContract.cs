using System.Security.Cryptography;
using Broadcast.Control.Persistence;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Tests;

/// <summary>
/// The base of contract tests for tables that hang off a channel: a migrated database of the back-end the subclass
/// makes, and a way to add a channel row to point at.
/// </summary>
public abstract class ChannelTableContract : IAsyncLifetime
{
    private TempDirectory? _sqliteDirectory;

    protected ControlDatabase Database { get; private set; } = null!;

    protected SqlChannelRepository Channels { get; private set; } = null!;

    protected abstract ControlDatabase Create();

    public virtual async Task InitializeAsync()
    {
        Database = Create();
        await Database.MigrateAsync();
        Channels = new SqlChannelRepository(Database);
    }

    public virtual async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        _sqliteDirectory?.Dispose();
    }

    /// <summary>A SQLite database in a temp directory removed with the test (for the SQLite subclass's <see cref="Create"/>).</summary>
    protected ControlDatabase Sqlite()
    {
        _sqliteDirectory ??= new TempDirectory();
        return new SqliteControlDatabase($"Data Source={_sqliteDirectory.File("broadcast.db")}");
    }

    /// <summary>Inserts a channel and returns its id.</summary>
    protected async Task<string> ChannelAsync()
    {
        var id = Guid.NewGuid().ToString("N");
        Assert.True(await Channels.TryInsertAsync(new ChannelRecord(id, "Stage", "stage-" + id[..8], RandomNumberGenerator.GetBytes(32),
            RandomNumberGenerator.GetBytes(60), RequireSchedule: false, LowLatency: false, Revoked: false, DateTimeOffset.UtcNow)));
        return id;
    }
}
