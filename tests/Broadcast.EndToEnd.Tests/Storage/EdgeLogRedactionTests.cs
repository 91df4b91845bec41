using System.Net;
using System.Net.Sockets;
using System.Text;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// The edge's access log kept every viewer's <c>?token=</c>: a file of working playback credentials. It now logs the
/// request line with the token's value replaced, and the LL-HLS delivery directives still readable (what an SRE reads
/// when viewers report stalls). Debian's nginx with infra/nginx-edge.conf (rewritten only at its "# test:" lines); no
/// origin answers, which is logged all the same. The audience log it sends over syslog redacts the token alike.
/// </summary>
public sealed class EdgeLogRedactionTests
{
    [Fact]
    public async Task A_playback_token_in_the_query_is_not_in_the_edges_access_log()
    {
        using var audienceLog = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int audienceLogPort = ((IPEndPoint)audienceLog.Client.LocalEndPoint!).Port;
        await using var edge = await EdgeNginx.StartAsync([FreePort.Tcp()], audienceLogPort: audienceLogPort);
        using var http = new HttpClient { BaseAddress = edge.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        const string secret = "k7.c2VjcmV0LXNpZ25hdHVyZQ";
        using (await http.GetAsync($"/live/news/source/index.m3u8?_HLS_msn=12&token={secret}&_HLS_part=2")) { }
        using (await http.GetAsync($"/live/news/master.m3u8?token={secret}")) { }

        string log = "";
        await WaitFor.ConditionAsync(() =>
        {
            log = File.Exists(edge.AccessLog) ? File.ReadAllText(edge.AccessLog) : "";
            // Both lines, not the second alone: nginx writes a request's line when it is done with it, which for the
            // first (a blocking reload the edge tried to pass to an origin that is not there) can come after the second.
            return Task.FromResult(log.Contains("index.m3u8", StringComparison.Ordinal) && log.Contains("master.m3u8", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(20), "both requests in the access log", () => log);
        Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        Assert.Contains("index.m3u8?_HLS_msn=12&token=[redacted]&_HLS_part=2", log, StringComparison.Ordinal);
        Assert.Contains("master.m3u8?token=[redacted] HTTP/1.1", log, StringComparison.Ordinal);

        // The audience log: one datagram per request, in the broadcast_audience format (a 502 here: no origin answered).
        var lines = new List<string>();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (lines.Count < 2)
        {
            var datagram = await audienceLog.ReceiveAsync(wait.Token);
            lines.Add(Encoding.UTF8.GetString(datagram.Buffer));
        }

        string sent = string.Join(Environment.NewLine, lines);
        Assert.DoesNotContain(secret, sent, StringComparison.Ordinal);
        Assert.Contains("\"r\":\"/live/news/source/index.m3u8?_HLS_msn=12&token=[redacted]&_HLS_part=2\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"r\":\"/live/news/master.m3u8?token=[redacted]\"", sent, StringComparison.Ordinal);
        Assert.All(lines, line => Assert.StartsWith("<190>", line, StringComparison.Ordinal));
    }
}
