using System.Text;
using Broadcast.Origin.Steering;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Origin.Tests.Fuzzing;

/// <summary>
/// Fuzzes the read of the shared steering overrides (<see cref="SteeringOverrides.Parse"/>): the document comes from the
/// store, which another node (or anyone with write access to the bucket) wrote; a damaged one must be refused whole,
/// never half applied or thrown on.
/// </summary>
public class SteeringOverridesFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Overrides_document()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("{\"version\":1,\"pathways\":[{\"id\":\"cdn-a\",\"weight\":1,\"drained\":false},{\"id\":\"cdn-b\",\"weight\":0,\"drained\":true}]}"),
            Encoding.UTF8.GetBytes("{\"version\":1,\"pathways\":[]}"),
        };
        var report = FuzzRunner.Run("steering overrides", seeds, (input, _) =>
        {
            var read = SteeringOverrides.Parse(input);
            if (read is not null && read.Any(p => p.Id is null)) throw new InvalidOperationException("a pathway without an id");
            return read is not null;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
