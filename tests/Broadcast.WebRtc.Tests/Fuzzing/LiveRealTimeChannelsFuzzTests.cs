using Broadcast.TestSupport.Fuzzing;
using Broadcast.WebRtc.Relay;
using Xunit.Abstractions;

namespace Broadcast.WebRtc.Tests.Fuzzing;

/// <summary>Fuzzes the reader of an ingest node's live real-time channels, which an origin node asks every two seconds.</summary>
public class LiveRealTimeChannelsFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Live_real_time_channels_answer()
    {
        var seeds = FuzzSeeds.Column(LiveRealTimeChannelsTests.Cases, 2)
            .Concat(FuzzSeeds.Column(LiveRealTimeChannelsTests.Malformed, 2))
            .ToList();
        var report = FuzzRunner.Run("live-real-time-channels", seeds, (input, random) =>
        {
            var channels = LiveRealTimeChannels.TryParse(input, out string problem);
            if (channels is null)
            {
                if (problem.Length == 0) throw new InvalidOperationException("refused without a reason");
                return false;
            }

            if (channels.Count > LiveRealTimeChannels.MaxChannels) throw new InvalidOperationException($"{channels.Count} channels accepted");
            foreach (string name in channels)
            {
                if (name.Length is 0 or > LiveRealTimeChannels.MaxNameLength || name.Contains('/', StringComparison.Ordinal))
                    throw new InvalidOperationException($"'{name}' accepted as a channel name");
            }

            return true;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
