using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>
/// The server runner against whatever Broadcast.Server is built (even the bare composition root answers
/// /healthz): it starts, is reachable, and goes away on dispose; a server that dies at start fails fast.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ServerProcessHarnessTests
{
    [Fact]
    public async Task Server_process_starts_answers_healthz_and_stops_on_dispose()
    {
        var server = await ServerProcess.StartAsync();
        int httpPort = server.HttpPort;
        try
        {
            Assert.NotEqual(server.RtmpPort, server.HttpPort);
            using var r = await server.Viewer.GetAsync("healthz");
            Assert.True(r.IsSuccessStatusCode, server.LogTail());
            Assert.Equal($"rtmp://127.0.0.1:{server.RtmpPort}/live/k1", server.RtmpUrl("k1"));
            Assert.Equal(new Uri(server.BaseUri, "/live/x/master.m3u8"), server.Absolute("/live/x/master.m3u8"));
            Assert.Equal("Bearer", server.Http.DefaultRequestHeaders.Authorization?.Scheme);
            Assert.True(Directory.Exists(server.DataDirectory));
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.True(server.HasExited);
        Assert.False(await FreePort.IsListeningAsync(httpPort));
    }

    [Fact]
    public async Task Server_that_cannot_start_fails_fast_with_its_output()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}", "Broadcast.Server.dll");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => ServerProcess.StartAsync(new ServerOptions { ServerDll = missing }));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
        Assert.Contains("exited with code", e.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-", e.Message, StringComparison.Ordinal);
    }
}
