using Broadcast.Control.Persistence;
using Broadcast.Control.Programs;
using PostgresTestCluster = Broadcast.TestSupport.PostgresTestCluster;

namespace Broadcast.Control.Tests;

/// <summary>The programs table (migration 0011) behaves the same on SQLite and PostgreSQL.</summary>
public abstract class ProgramStoreContract : ChannelTableContract
{
    private SqlProgramRepository _programs = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _programs = new SqlProgramRepository(Database);
    }

    private static readonly DateTimeOffset At = new(2026, 5, 1, 13, 45, 0, 123, TimeSpan.Zero);

    [Fact]
    public async Task A_program_is_stored_replaced_listed_and_deleted()
    {
        var id = await ChannelAsync();
        Assert.Null(await _programs.GetAsync(id, default));
        var first = new StoredProgram(id, """{"layout":{"kind":"single"}}""", "alice", At);
        Assert.True(await _programs.SetAsync(first, default));
        Assert.Equal(first, await _programs.GetAsync(id, default));

        var second = new StoredProgram(id, """{"layout":{"kind":"pip"}}""", "bob", At.AddMinutes(1));
        Assert.True(await _programs.SetAsync(second, default));
        Assert.Equal(second, await _programs.GetAsync(id, default));
        Assert.Equal([second], await _programs.ListAsync(default));

        Assert.True(await _programs.DeleteAsync(id, default));
        Assert.False(await _programs.DeleteAsync(id, default));
        Assert.Empty(await _programs.ListAsync(default));
    }

    [Fact]
    public async Task An_unknown_channel_is_refused_and_a_deleted_channel_takes_its_program_along()
    {
        Assert.False(await _programs.SetAsync(new StoredProgram("no-such-channel", "{}", "alice", At), default));

        var id = await ChannelAsync();
        Assert.True(await _programs.SetAsync(new StoredProgram(id, "{}", "alice", At), default));
        Assert.True(await Channels.DeleteAsync(id));
        Assert.Null(await _programs.GetAsync(id, default));
    }
}

public sealed class SqliteProgramStoreTests : ProgramStoreContract
{
    protected override ControlDatabase Create() => Sqlite();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresProgramStoreTests(PostgresTestCluster cluster) : ProgramStoreContract
{
    protected override ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase("programs"));
}
