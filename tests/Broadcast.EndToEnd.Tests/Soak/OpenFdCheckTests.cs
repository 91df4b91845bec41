using Broadcast.Soak;

namespace Broadcast.EndToEnd.Tests.Soak;

/// <summary>
/// The soak's open-descriptor check compares its windows at the same number of publishers online: a publisher holds
/// descriptors of its own (RTMP socket, its ladder's ffmpeg pipes and rung sockets), a leak raises every count.
/// </summary>
public sealed class OpenFdCheckTests
{
    private static ResourceSample At(int online, int fds) => new(TimeSpan.Zero, 150_000, fds, online, -1);

    [Fact]
    public void More_publishers_online_at_the_end_is_not_a_leak()
    {
        // The clean-clone run that failed the old rule: lowest 33 (one online) -> 45 (three online), +12 > +11.
        var (first, last, online) = SoakRun.LowestOpenFds([At(1, 33), At(2, 39), At(1, 36)], [At(2, 40), At(3, 45), At(3, 48)]);
        Assert.Equal((39d, 40d, (int?)2), (first, last, online));
    }

    [Fact]
    public void A_leak_raises_the_count_at_every_number_online()
    {
        var (first, last, online) = SoakRun.LowestOpenFds([At(1, 33), At(2, 39)], [At(1, 47), At(2, 53)]);
        Assert.Equal(1, online);
        Assert.Equal(14, last - first);
    }

    [Fact]
    public void Windows_with_no_count_in_common_fall_back_to_each_lowest()
    {
        var (first, last, online) = SoakRun.LowestOpenFds([At(1, 33), At(1, 35)], [At(3, 45)]);
        Assert.Equal((33d, 45d, (int?)null), (first, last, online));
        Assert.Equal((0d, 0d, (int?)null), SoakRun.LowestOpenFds([], [At(3, 45)]));
    }
}

/// <summary>
/// Established inbound connections (an HTTP client's keep-alive pool, a publisher's RTMP socket) are the peers' choice
/// and left out of the soak's fd count; a connection the peer closed and the server kept (CLOSE_WAIT) still counts.
/// </summary>
public sealed class PeerHeldConnectionTests
{
    private const string Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

    [Fact]
    public void Rows_of_proc_net_tcp_parse_and_malformed_ones_do_not()
    {
        Assert.True(TcpSocketRow.TryParse("   0: 0100007F:A88D 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0", out var row));
        Assert.Equal(new TcpSocketRow(0xA88D, TcpSocketRow.Listen, 123456), row);
        Assert.False(TcpSocketRow.TryParse(Header, out _));
        Assert.False(TcpSocketRow.TryParse("", out _));
        Assert.False(TcpSocketRow.TryParse("   0: 0100007F 00000000:0000 0A 0 0 0 1000 0 123", out _));
        Assert.False(TcpSocketRow.TryParse("   0: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 1000 0 123", out _));
        Assert.False(TcpSocketRow.TryParse("   0: 0100007F:0050 00000000:0000 0A 0 0 0 1000 0 -5", out _));
    }

    [Fact]
    public void Only_established_connections_accepted_on_an_own_listening_port_are_peer_held()
    {
        TcpSocketRow[] rows =
        [
            new(8080, TcpSocketRow.Listen, 1),
            new(8080, TcpSocketRow.Established, 2),    // accepted HTTP keep-alive connection
            new(8080, TcpSocketRow.Established, 3),
            new(8080, 0x08, 4),                        // CLOSE_WAIT: the peer left, the server kept it
            new(41000, TcpSocketRow.Established, 5),   // outbound (to PostgreSQL, S3): the server's own
            new(1935, TcpSocketRow.Established, 6),    // another process's listener: not ours
            new(1935, TcpSocketRow.Listen, 7),
        ];
        Assert.Equal(2, SoakRun.CountPeerHeldConnections(rows, [1, 2, 3, 4, 5, 6]));
    }
}
