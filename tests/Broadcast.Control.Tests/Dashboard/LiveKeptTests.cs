using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>The channel page's "Kept" line: the retention rule the broadcast runs under and the space it takes.</summary>
public class LiveKeptTests
{
    [Theory]
    [InlineData(1800, false, 432_000_000L, "rewind window 30 min: 412.0 MB")]
    [InlineData(0, false, 3_500_000L, "the live window: 3.3 MB")]
    [InlineData(600, true, 2_500_000_000L, "every segment (recorded): 2.33 GB")]
    public void The_rule_and_its_space_are_said_as_the_packaging_reports_them(int rewind, bool recorded, long bytes, string expected)
    {
        var state = new ChannelLiveState(true) { RewindSeconds = rewind, Recording = recorded, KeptBytes = bytes };
        Assert.Equal(expected, LiveStatusMonitor.DescribeKept(state));
    }

    [Fact]
    public void Nothing_is_said_before_the_packaging_reports()
    {
        Assert.Null(LiveStatusMonitor.DescribeKept(new ChannelLiveState(true) { RewindSeconds = 1800 }));
        Assert.Null(LiveStatusMonitor.DescribeKept(ChannelLiveState.Offline));
    }
}
