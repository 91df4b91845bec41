using System.Text;
using Broadcast.Control.Channels;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Control.Tests.Fuzzing;

/// <summary>
/// Fuzzes the reading of a platform's refusal (<see cref="PublishCallback.ReasonOf"/>): whatever the answer's bytes, the
/// reason is one printable line of at most 200 characters, never an exception.
/// </summary>
public class PublishCallbackAnswerFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Publish_callback_refusal_reason()
    {
        var seeds = new[]
        {
            "{\"reason\":\"subscription expired\"}", "{\"reason\":42}", "{\"reason\":\"a\\u0000b\\r\\nc\"}", "[\"reason\"]", "{\"reason\":",
            "plain text reason", "", "\u00ff\u00fe", "{\"reason\":\"" + new string('x', 300) + "\"}",
        }.Select(Encoding.UTF8.GetBytes).Append([0xC3, 0x28, 0xFF]).ToList();
        var report = FuzzRunner.Run("publish-callback-reason", seeds, (input, _) =>
        {
            string reason = PublishCallback.ReasonOf(input, 403);
            if (reason.Length is 0 or > 200) throw new InvalidOperationException($"a reason of {reason.Length} characters");
            if (reason.Any(char.IsControl)) throw new InvalidOperationException("a control character in the reason");
            return true;
        }, new FuzzOptions { MaxInputLength = PublishCallback.MaxAnswerBytes, AllocatedBytesPerInputByte = 64 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
    }
}
