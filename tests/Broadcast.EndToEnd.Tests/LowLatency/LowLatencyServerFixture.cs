using Broadcast.EndToEnd.Tests.Server;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.LowLatency;

/// <summary>
/// A server of its own for the latency tests: the shared ServerFixture runs the ABR ladder, whose ffmpeg encode adds
/// its own delay and, on this loaded two-core machine, may run slower than real time; these tests measure the
/// low-latency packaging and delivery of the passthrough path, so the transcoder is off.
/// </summary>
public sealed class LowLatencyServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;
    private Task<BrowserHost>? _browser;
    private Task<EdgeNginx>? _edge;

    /// <summary>
    /// 10 s looped: 240p, 1 s GOP so an INDEPENDENT part comes every second for a player to join on, encoded as the
    /// README's low-latency settings ask (no B-frames, no look-ahead), as bench/lowlatency.sh publishes too: these tests
    /// hold players to the latency those settings buy. A B-frame source is packaged and walked part by part in
    /// LowLatencyContiguityTests.
    /// </summary>
    public static readonly ClipSpec Clip = new() { Seconds = 10, Width = 426, Height = 240, Fps = 30, GopFrames = 30, VideoBitrateKbps = 400, ZeroLatency = true };

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Server not started.");

    public Task<BrowserHost> BrowserAsync()
    {
        lock (this)
        {
            return _browser ??= BrowserHost.StartAsync();
        }
    }

    /// <summary>infra/nginx-edge.conf in front of the server, started on first use.</summary>
    public Task<EdgeNginx> EdgeAsync()
    {
        lock (this)
        {
            return _edge ??= EdgeNginx.StartAsync(Server.HttpPort);
        }
    }

    public string WithLog(string message) =>
        $"{message}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{_server?.LogTail() ?? "(server not started)"}";

    public void Check(bool condition, string message)
    {
        if (!condition) Assert.Fail(WithLog(message));
    }

    /// <summary>A new lowLatency channel and ffmpeg publishing <see cref="Clip"/> into it in real time.</summary>
    public async Task<(ChannelInfo Channel, FfmpegPublisher Publisher)> PublishAsync()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"ll {Guid.NewGuid():N}", lowLatency: true);
        // 10 s x 5: the publish outlasts joining plus 30 s of watching.
        return (channel, FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 4));
    }

    /// <summary>Waits until the channel's source playlist lists parts and its master playlist answers; the source playlist.</summary>
    public async Task<string> WaitForPartsAsync(ChannelInfo channel, FfmpegPublisher publisher)
    {
        var hls = PlaybackUrls.Hls(Server, channel);
        var media = new Uri(hls, "source/index.m3u8");
        string playlist = "";
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(media);
                playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
                if (!playlist.Contains("#EXT-X-PART:", StringComparison.Ordinal)) return false;
                using var master = await Server.Viewer.GetAsync(hls);
                return master.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"{media} to list parts", () => WithLog($"publisher:{Environment.NewLine}{publisher.Log.Tail(15)}"));
        return playlist;
    }

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(new ServerOptions
    {
        ExtraArguments = ["--Transcode:Enabled=false"],
    });

    public async Task DisposeAsync()
    {
        if (_browser is { IsCompletedSuccessfully: true }) await (await _browser).DisposeAsync();
        if (_edge is { IsCompletedSuccessfully: true }) await (await _edge).DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
    }
}
