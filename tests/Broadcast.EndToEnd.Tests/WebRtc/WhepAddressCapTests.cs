using System.Text.Json;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// One client address may hold at most <c>Whep:MaxSessionsPerAddress</c> sessions (here 1) on a node: a real browser's
/// second offer from loopback is refused with 429 and a Retry-After while its first session lives, and admitted once the
/// first is deleted. (WHEP is anonymous for public channels; without this one client could hold every place.)
/// </summary>
public sealed class WhepAddressCapTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly ClipSpec Baseline = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, Profile = "baseline", VideoBitrateKbps = 800 };

    private ServerProcess _server = null!;
    private BrowserHost _browser = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", "--Whep:MaxSessionsPerAddress=1", "--Whep:MaxViewersPerNode=10", "--Whep:ConnectTimeout=00:00:30"],
        });
        _browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns"]);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_second_session_from_one_address_gets_429_until_the_first_ends()
    {
        var channel = await _server.Api.CreateChannelAsync($"whep address {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), _server.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await _server.Api.GetChannelAsync(channel.Id)).Live == true, Patience, "the channel to be live",
            () => _server.LogTail(80));
        var page = await _browser.NewPageAsync();
        try
        {
            await page.GotoAsync(_browser.Pages.Url("whep.html").ToString());
            // Real offers whose answers are never applied: each 201 holds a place until DELETE (or the 30 s connect timeout).
            const string post = """
                async (url) => {
                  const pc = new RTCPeerConnection();
                  pc.addTransceiver('video', { direction: 'recvonly' });
                  await pc.setLocalDescription(await pc.createOffer());
                  (window.__held = window.__held || []).push(pc);
                  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
                  return JSON.stringify({ status: r.status, location: r.headers.get('Location'), retryAfter: r.headers.get('Retry-After') });
                }
                """;
            string whep = new Uri(_server.BaseUri, $"live/{channel.Slug}/whep").ToString();

            using var first = JsonDocument.Parse(await page.EvaluateAsync<string>(post, whep));
            Assert.True(first.RootElement.GetProperty("status").GetInt32() == 201, $"{first.RootElement}{Environment.NewLine}{_server.LogTail(80)}");
            string location = first.RootElement.GetProperty("location").GetString()!;

            using var second = JsonDocument.Parse(await page.EvaluateAsync<string>(post, whep));
            Assert.Equal(429, second.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("30", second.RootElement.GetProperty("retryAfter").GetString());
            Assert.Contains("holds 1 real-time sessions", _server.LogTail(200), StringComparison.Ordinal);

            using (var deleted = await _server.Viewer.DeleteAsync(location))
            {
                Assert.True(deleted.IsSuccessStatusCode, $"DELETE {location}: {(int)deleted.StatusCode}");
            }
            using var third = JsonDocument.Parse(await page.EvaluateAsync<string>(post, whep));
            Assert.True(third.RootElement.GetProperty("status").GetInt32() == 201, $"{third.RootElement}{Environment.NewLine}{_server.LogTail(80)}");
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}
