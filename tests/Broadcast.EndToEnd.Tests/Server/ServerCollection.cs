using System.Collections.Concurrent;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// One Broadcast.Server (and one browser, on first use) shared by the tests of ingest and playback. The tests against a
/// shared server are three collections, each with a server of its own, so that they run in three lanes beside the other
/// collections rather than one after another in one lane for 15 minutes (bench/RESULTS.md row 166).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}

/// <summary>A shared server for the real-time tests: WHEP viewers, rooms and the programs they compose.</summary>
[CollectionDefinition(Name)]
public sealed class RealTimeServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server-real-time";
}

/// <summary>A shared server for what viewers get through a broadcast's events: ad breaks, reconnects, takeovers, the audience report.</summary>
[CollectionDefinition(Name)]
public sealed class ViewerServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server-viewers";
}

public sealed class ServerFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> _scenarios = new();
    private ServerProcess? _server;
    private Task<BrowserHost>? _browser;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Server not started.");

    /// <summary>The shared browser, started on first use.</summary>
    public Task<BrowserHost> BrowserAsync()
    {
        lock (_scenarios)
        {
            return _browser ??= BrowserHost.StartAsync();
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> once per fixture and shares its task: lets several tests assert on one
    /// publish (and lets a test start another test's publish early so they overlap).
    /// </summary>
    public async Task<T> Scenario<T>(string name, Func<Task<T>> run)
        where T : class =>
        (T)await _scenarios.GetOrAdd(name, _ => new Lazy<Task<object>>(async () => await run().ConfigureAwait(false))).Value.ConfigureAwait(false);

    /// <summary>Appends the server's log tail to a failure message, as every server test should.</summary>
    public string WithLog(string message) =>
        $"{message}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{_server?.LogTail() ?? "(server not started)"}";

    /// <summary>
    /// Plays <paramref name="url"/> in the shared browser with <paramref name="kind"/>'s player until its clock has moved
    /// three seconds, with no fatal error; <paramref name="publisher"/> describes the source for a failure.
    /// </summary>
    public async Task PlaysAsync(PlayerKind kind, Uri url, Func<string> publisher)
    {
        await using var player = await (await BrowserAsync()).OpenAsync(kind);
        await player.StartAsync(url.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => WithLog(publisher()));
        var start = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(start + 3, TimeSpan.FromSeconds(45), () => WithLog(publisher()));
        var fatal = await player.GetFatalErrorsAsync();
        Check(fatal.Count == 0, $"{kind} fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
    }

    /// <summary>Assert.True with the server log tail in the message.</summary>
    public void Check(bool condition, string message)
    {
        if (!condition)
        {
            Assert.Fail(WithLog(message));
        }
    }

    // RTMPS is on too, with a certificate made for this run, so the RTMPS tests publish to this same server.
    private readonly TempDirectory _tls = new("server-tls");

    public int RtmpsPort { get; } = FreePort.Tcp();

    public string RtmpsUrl(string streamKey) => $"rtmps://127.0.0.1:{RtmpsPort}/live/{streamKey}";

    // SRT ingest is on as well (run.sh turns it on), so SRT publishes reach this same server.
    public int SrtPort { get; } = FreePort.Udp();

    // The audience log of an nginx edge in front of this server (infra/nginx-edge.conf), for the tests that put one there.
    public int EdgeLogPort { get; } = FreePort.Udp();

    // A TURN server (real coturn on loopback) the server hands out with credentials of each peer's own, as production's does:
    // the room tests' pages gather relay candidates through it, and one publisher reaches the show through it alone.
    private CoturnServer? _turn;

    public CoturnServer Turn => _turn ?? throw new InvalidOperationException("TURN server not started.");

    // Programs compose onto a 640x360 canvas: two inputs and the ladder fit on the two cores beside the other tests.
    // Broadcasts are recorded, so the playback tests can play a finished broadcast from its recording. The pull and restream tests
    // use peers on loopback (nginx-rtmp, a static HTTP server), which the outbound policy refuses unless allowed: allowed here, as an
    // operator would, not by weakening the default.
    public async Task InitializeAsync()
    {
        _turn = await CoturnServer.StartAsync();
        _server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Packager:RecordByDefault=true", "--Outbound:AllowedNetworks=127.0.0.0/8",
                .. TestCertificates.RtmpsServerArguments(RtmpsPort, _tls.Path), $"--Srt:Port={SrtPort}", "--Srt:BindAddress=127.0.0.1",
                "--Program:Width=640", "--Program:Height=360", .. _turn.ServerArguments(),
                // WHEP viewers' TURN credentials last 30 s, so that their renewal by ICE restarts is seen within a test.
                "--Turn:ViewerCredentialLifetime=00:00:30",
                $"--Origin:EdgeLogPort={EdgeLogPort}", "--Origin:EdgeLogAddress=127.0.0.1", "--Origin:EdgeLogSources=127.0.0.1"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is { IsCompletedSuccessfully: true })
        {
            await (await _browser).DisposeAsync();
        }

        foreach (var s in _scenarios.Values)
        {
            if (s.IsValueCreated && s.Value.IsCompletedSuccessfully && s.Value.Result is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_turn is not null)
        {
            await _turn.DisposeAsync();
        }

        _tls.Dispose();
    }
}

/// <summary>A channel with a publisher pushing a clip into it.</summary>
public sealed class PublishedChannel(ChannelInfo channel, RtmpPublisher publisher, string clipPath, ClipSpec spec) : IAsyncDisposable
{
    public ChannelInfo Channel { get; } = channel;

    public RtmpPublisher Publisher { get; } = publisher;

    public string ClipPath { get; } = clipPath;

    public ClipSpec Spec { get; } = spec;

    public ValueTask DisposeAsync() => Publisher.DisposeAsync();
}
