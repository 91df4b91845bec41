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

    /// <summary>10 s looped: 240p, 1 s GOP so an INDEPENDENT part comes every second for a player to join on.</summary>
    public static readonly ClipSpec Clip = new() { Seconds = 10, Width = 426, Height = 240, Fps = 30, GopFrames = 30, VideoBitrateKbps = 400 };

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
