using System.Text;
using Broadcast.Control.Chat;
using Broadcast.Control.Tests.Chat;
using Broadcast.TestSupport;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Control.Tests.Fuzzing;

/// <summary>Fuzzes the putting together of chat events sent in parts: what another node's notifications carry reaches it here first.</summary>
public class ChatNotificationPartsFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Chat_notification_parts()
    {
        var seeds = ChatNotificationPartsTests.Malformed.Select(row => Encoding.UTF8.GetBytes((string)row[2]!))
            .Concat(ChatNotificationParts.Split(new string('z', 12_000), "node", "event")!.Select(p => Encoding.UTF8.GetBytes(p)))
            .ToList();
        var assembly = new ChatNotificationParts.Assembly(new ManualClock(new DateTimeOffset(2026, 11, 26, 7, 40, 0, TimeSpan.Zero)));
        var report = FuzzRunner.Run("chat-parts", seeds, (input, random) =>
        {
            string? whole = assembly.Add(Encoding.UTF8.GetString(input), out string? error);
            if (whole is null && error is null) return true; // a part taken, its event not complete yet
            if (whole is not null && error is not null) throw new InvalidOperationException("an event and an error at once");
            if (assembly.Count > ChatNotificationParts.Assembly.MaxPending) throw new InvalidOperationException($"{assembly.Count} events pending");
            return whole is not null;
        }, new FuzzOptions { MaxInputLength = 16 * 1024, AllocatedBytesPerInputByte = 256 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
    }
}
