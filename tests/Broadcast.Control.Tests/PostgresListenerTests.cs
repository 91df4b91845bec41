using Broadcast.Control.Persistence;
using Npgsql;

namespace Broadcast.Control.Tests;

/// <summary>The LISTEN connection keeps itself alive, so a vanished peer ends the wait and the loop reconnects.</summary>
public sealed class PostgresListenerTests
{
    [Fact]
    public void A_listening_connection_sends_keepalives_unless_the_connection_string_chose_its_own()
    {
        var added = new NpgsqlConnectionStringBuilder(PostgresListener.WithKeepAlive("Host=127.0.0.1;Port=5432;Database=broadcast;Username=broadcast"));
        Assert.Equal(PostgresListener.DefaultKeepAliveSeconds, added.KeepAlive);
        Assert.Equal("broadcast", added.Database);

        var chosen = new NpgsqlConnectionStringBuilder(PostgresListener.WithKeepAlive("Host=127.0.0.1;Database=broadcast;Keepalive=7"));
        Assert.Equal(7, chosen.KeepAlive);
    }
}
