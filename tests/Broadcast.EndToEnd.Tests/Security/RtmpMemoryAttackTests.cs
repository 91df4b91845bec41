using System.Diagnostics;
using System.Globalization;
using System.Net;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// The reported "memory before authentication" attack against the real server process: ten connections that finish
/// the handshake, send Set Chunk Size 8 MiB and then an 8 MiB message on each of chunk streams 3-63, without connect.
/// Before the per-connection budget that took the server from ~135 MB to over 2 GB (four connections), and the memory
/// stayed after they closed. Measured from outside, as an operator would: VmRSS in /proc/PID/status.
/// </summary>
public sealed class RtmpMemoryAttackTests(ITestOutputHelper output)
{
    private const long AllowedGrowthKb = 150 * 1024;

    private static long RssKb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no VmRSS for pid {pid}");
    }

    [Fact]
    public async Task Chunk_stream_attack_over_ten_connections_grows_rss_less_than_150_MB_and_it_comes_back()
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = ["--Transcode:Enabled=false"] });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail(60)}";
        int pid = server.ProcessId;
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.RtmpPort);

        // The first RTMP connections JIT the chunk reader and friends: one harmless connection first, then the baseline.
        var warm = await HostileRtmpClient.RunAsync(endpoint, HostileRtmpPattern.BeforeConnect, 0, new HostileRtmpOptions { Hold = TimeSpan.FromSeconds(5) });
        Assert.True(warm.ClosedByServer, Diagnostics());
        await Task.Delay(500);
        long baseline = RssKb(pid);

        long peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, RssKb(pid));
                await Task.Delay(20);
            }
        });

        // Command (too big for the budget), acknowledgement (a control message is 64 bytes at most), an unassigned type
        // (not allowed before connect): the three kinds of message the old server kept in a buffer per chunk stream.
        byte[] types = [20, 3, 7];
        var clock = Stopwatch.StartNew();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => HostileRtmpClient.RunAsync(endpoint, HostileRtmpPattern.ChunkStreams, i,
            new HostileRtmpOptions { MessageBytes = 8 * 1024 * 1024, MessageType = types[i % 3], Hold = TimeSpan.FromSeconds(10) }, bound.Token)));
        var attackTime = clock.Elapsed;
        await Task.Delay(1000); // what the last bytes caused
        long afterAttack = RssKb(pid);

        // Back after the close: within the bound of the baseline within a few seconds.
        long after = afterAttack;
        for (int i = 0; i < 50 && after > baseline + AllowedGrowthKb / 3; i++)
        {
            await Task.Delay(100);
            after = RssKb(pid);
        }
        await stop.CancelAsync();
        await sampler;

        string numbers = $"RSS baseline {baseline / 1024} MB, peak {peak / 1024} MB, after the attack {afterAttack / 1024} MB, after close {after / 1024} MB; attack took {attackTime.TotalSeconds:F1} s, "
            + $"{outcomes.Sum(o => o.BytesSent) / (1024 * 1024)} MiB sent";
        output.WriteLine(numbers);
        Assert.True(peak - baseline < AllowedGrowthKb, $"{numbers}{Environment.NewLine}{Diagnostics()}");
        Assert.True(after - baseline < AllowedGrowthKb / 3, $"{numbers}{Environment.NewLine}{Diagnostics()}");
        Assert.All(outcomes, o => Assert.True(o.Handshaken && o.ClosedByServer, $"connection {o.Index}: {o}{Environment.NewLine}{numbers}"));

        // The server's own account agrees: the connections are gone and hold nothing; each was refused with a reason.
        string metrics = "";
        await WaitFor.ConditionAsync(async () =>
        {
            metrics = await server.Viewer.GetStringAsync("metrics");
            return metrics.Contains("\nbroadcast_rtmp_memory_held_bytes 0\n", StringComparison.Ordinal)
                && metrics.Contains("\nbroadcast_rtmp_connections 0\n", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10), "the RTMP connections to be gone and hold no memory", () => metrics);
        Assert.Contains("broadcast_rtmp_limit_hits_total{limit=\"memory_budget\"} 4", metrics, StringComparison.Ordinal);
        string log = server.LogTail(400);
        Assert.True(CountOf(log, "memory budget exceeded") >= 4, Diagnostics());
        Assert.True(CountOf(log, "ControlMessageTooLarge") >= 3, Diagnostics());
        Assert.True(CountOf(log, "unknown message (type 7) before connect") >= 3, Diagnostics());
    }

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
