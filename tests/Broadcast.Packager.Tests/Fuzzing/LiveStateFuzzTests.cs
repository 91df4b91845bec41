using System.Text;
using Broadcast.Packager.Live;
using Broadcast.Packager.Tests.Live;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes the live state's reader (<see cref="LiveBroadcastState.TryParse"/>) with mutations of real states, a rotated
/// broadcast's key periods among them: a continuing node reads what the store holds, which another node (of another
/// version) wrote or a damaged store gives back, so every input is a state or a refusal with its reason, never an exception
/// (which would fail the publish that came to continue the broadcast).
/// </summary>
public class LiveStateFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Live_state_read_back()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes(LiveBroadcastStateTests.SampleJson),
            Encoding.UTF8.GetBytes(LiveBroadcastStateTests.WithPeriods(
                $"{LiveBroadcastStateTests.Period(4)},{LiveBroadcastStateTests.Period(9)},{LiveBroadcastStateTests.Period(12)}")),
        };
        var report = FuzzRunner.Run("live state", seeds, (input, _) =>
        {
            var state = LiveBroadcastState.TryParse(input, out string? error);
            if (state is null && string.IsNullOrEmpty(error)) throw new InvalidOperationException("refused without a reason");
            return state is not null;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
