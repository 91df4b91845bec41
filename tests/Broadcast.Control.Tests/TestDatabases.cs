using System.Security.Cryptography;
using Broadcast.Control.Persistence;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresTestCluster>
{
    public const string Name = "postgres";
}

/// <summary>A temp directory removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "broadcast-control-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>SQLite for a store contract: each <see cref="Create"/> a fresh file, all in one directory removed on dispose.</summary>
public sealed class SqliteTestDatabases : ITestDatabaseFactory, IDisposable
{
    private readonly TempDirectory _directory = new();
    private int _count;

    public ControlDatabase Create()
        => new SqliteControlDatabase($"Data Source={_directory.File($"db{Interlocked.Increment(ref _count)}/broadcast.db")}");

    public Task<IReadOnlyList<byte[]>> DumpChannelCellsAsync(ControlDatabase database) => RawDump.CellsAsync(database);

    public void Dispose() => _directory.Dispose();
}

/// <summary>PostgreSQL for a store contract: each <see cref="Create"/> a fresh database of the shared test cluster.</summary>
public sealed class PostgresTestDatabases(PostgresTestCluster cluster, string prefix = "control") : ITestDatabaseFactory
{
    public ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase(prefix));

    public Task<IReadOnlyList<byte[]>> DumpChannelCellsAsync(ControlDatabase database) => RawDump.CellsAsync(database);
}

/// <summary>Makes a fresh, empty database of one back-end per test.</summary>
public interface ITestDatabaseFactory
{
    ControlDatabase Create();

    /// <summary>Every byte of every column of every channels row, for "no plaintext key at rest" checks.</summary>
    Task<IReadOnlyList<byte[]>> DumpChannelCellsAsync(ControlDatabase database);
}

internal static class RawDump
{
    public static async Task<IReadOnlyList<byte[]>> CellsAsync(ControlDatabase database)
    {
        var cells = new List<byte[]>();
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM channels";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var value = reader.GetValue(i);
                cells.Add(value switch
                {
                    byte[] b => b,
                    _ => System.Text.Encoding.UTF8.GetBytes(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
                });
            }
        }

        return cells;
    }
}
