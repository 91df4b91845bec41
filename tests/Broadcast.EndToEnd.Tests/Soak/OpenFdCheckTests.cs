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
