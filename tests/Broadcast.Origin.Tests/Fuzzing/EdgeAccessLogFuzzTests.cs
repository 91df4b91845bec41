using System.Text;
using Broadcast.Origin.EdgeLog;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Origin.Tests.Fuzzing;

/// <summary>
/// Fuzzes the edge's audience log line (<see cref="EdgeAccessLogLine"/>): datagrams from a listed edge, but bytes all
/// the same; each is read or refused, never thrown on, and a read line's status is a status.
/// </summary>
public class EdgeAccessLogFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Syslog_frame_and_json_line()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("<190>Dec  1 03:00:00 broadcast_edge: {\"a\":\"198.51.100.1\",\"u\":\"Mozilla/5.0\",\"r\":\"/live/a/720p/b1-3.m4s?CMCD=bs\"," +
                "\"s\":\"200\",\"cq\":\"bl=2100\",\"co\":\"br=3200,ot=v\",\"cs\":\"bs\",\"cx\":\"sid=\\\"6e2f\\\"\"}"),
            Encoding.UTF8.GetBytes("<14>Dec 31 23:59:59 edge broadcast_edge: {\"s\":\"304\",\"r\":\"/live/b/manifest.mpd\",\"a\":\"::ffff:10.0.0.1\",\"u\":\"\\u00e9\"}"),
        };
        var report = FuzzRunner.Run("edge-access-log", seeds, (input, _) =>
        {
            Span<char> scratch = stackalloc char[EdgeAccessLogLine.MaxBytes];
            var result = EdgeAccessLogLine.Parse(input, scratch, out var entry);
            if (result != EdgeLogParse.Read) return false;
            if (entry.Status is < 100 or > 999) throw new InvalidOperationException("a status outside 100..999 was read");
            return true;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
