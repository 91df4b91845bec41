using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broadcast.Origin;
using Broadcast.TestSupport;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests;

/// <summary>
/// An origin-only node reading a CDN edge's audience log (Origin:EdgeLogPort): lines from the listed edge count their
/// viewers, a datagram from another address counts nothing, and a request the edge forwarded (marked
/// X-Broadcast-Edge-Logged) is not counted a second time. The datagrams are written as nginx's syslog writes them.
/// </summary>
public sealed class EdgeAudienceLogTests
{
    [Fact]
    public async Task Lines_from_the_listed_edge_count_viewers_once_and_nothing_else_does()
    {
        int logPort = FreePort.Udp();
        await using var origin = await InProcessServer.StartAsync("--Roles=origin", "--Playback:PublicOnly=true", "--Admin:Token=",
            $"--Origin:EdgeLogPort={logPort.ToString(CultureInfo.InvariantCulture)}", "--Origin:EdgeLogAddress=127.0.0.1",
            "--Origin:EdgeLogSources=127.0.0.1");
        await StoreObjectsAsync(origin, "edged");
        var to = new IPEndPoint(IPAddress.Loopback, logPort);

        // A request the edge forwarded: the edge's log tells of it, so the origin does not count it.
        using (var forwarded = new HttpRequestMessage(HttpMethod.Get, "/live/edged/720p/b1-1.m4s"))
        {
            forwarded.Headers.UserAgent.ParseAdd("forwarded-viewer");
            forwarded.Headers.Add(OriginAudience.EdgeLoggedHeader, "1");
            using var response = await origin.Http.SendAsync(forwarded);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Another address is not an edge of this node's list (a loopback address of its own, 127.0.0.2).
        using (var stranger = new UdpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)))
        {
            await stranger.SendAsync(Line("198.51.100.7", "stranger", "/live/edged/720p/b1-1.m4s", 200), to);
        }

        using var edge = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        // Two viewers from the edge's cache, one of them twice; a CMCD session by its sid; a 404 and a master playlist
        // (neither counts a viewer); a line that is no line of ours.
        await edge.SendAsync(Line("198.51.100.1", "viewer-a", "/live/edged/720p/index.m3u8", 200), to);
        await edge.SendAsync(Line("198.51.100.1", "viewer-a", "/live/edged/720p/b1-1.m4s", 304), to);
        await edge.SendAsync(Line("198.51.100.2", "viewer-b", "/live/edged/720p/b1-1.m4s?token=[redacted]", 200), to);
        await edge.SendAsync(Line("198.51.100.3", "viewer-c", "/live/edged/720p/b1-1.m4s", 200, cmcdSession: "sid=\"s-1\""), to);
        await edge.SendAsync(Line("198.51.100.4", "viewer-d", "/live/edged/720p/b1-404.m4s", 404), to);
        await edge.SendAsync(Line("198.51.100.5", "viewer-e", "/live/edged/master.m3u8", 200), to);
        await edge.SendAsync("<190>Dec  1 03:00:00 broadcast_edge: {\"a\":"u8.ToArray(), to);

        await WaitFor.ConditionAsync(async () => Viewers(await origin.Http.GetStringAsync("/metrics")) >= 3, TimeSpan.FromSeconds(20),
            "the edge's three viewers counted");
        // A last viewer, sent after all the others: once it is counted, every datagram before it was read.
        await edge.SendAsync(Line("198.51.100.6", "viewer-f", "/live/edged/manifest.mpd", 200), to);
        await WaitFor.ConditionAsync(async () => Viewers(await origin.Http.GetStringAsync("/metrics")) >= 4, TimeSpan.FromSeconds(20),
            "the last viewer counted");
        string metrics = await origin.Http.GetStringAsync("/metrics");
        Assert.True(Viewers(metrics) == 4, $"viewers a, b, c (by its CMCD session) and f only:{Environment.NewLine}{metrics}");
        // Lines of served objects (a twice, b, c, the master playlist, f); the 404, read but counting nothing; the cut line;
        // the stranger.
        Assert.Contains("broadcast_edge_log_lines_total{result=\"counted\"} 6", metrics, StringComparison.Ordinal);
        Assert.Contains("broadcast_edge_log_lines_total{result=\"ignored\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("broadcast_edge_log_lines_total{result=\"malformed\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("broadcast_edge_log_lines_total{result=\"refused\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>One datagram as nginx's syslog sends a line of infra/nginx-edge.conf's broadcast_audience format.</summary>
    internal static byte[] Line(string address, string userAgent, string requestUri, int status, string cmcdSession = "") =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"<190>Dec  1 03:00:00 broadcast_edge: {{\"a\":\"{address}\",\"u\":\"{userAgent}\",\"r\":\"{requestUri}\",\"s\":\"{status}\"," +
            $"\"cq\":\"\",\"co\":\"\",\"cs\":\"\",\"cx\":\"{cmcdSession.Replace("\"", "\\\"", StringComparison.Ordinal)}\"}}"));

    private static double Viewers(string metrics) => PrometheusSample.Read(metrics, "broadcast_viewers", "stream=\"edged\"") ?? 0;
}
