using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Faults;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// docker-compose's topology as processes on loopback: PostgreSQL and the S3 peer, two ingest + control nodes (the
/// primary and the backup ingest), a control node, two origin-only nodes that poll that control node with the playback
/// node token, and infra/nginx-edge.conf in front of both origins. While hls.js plays a public channel through the edge,
/// one origin is killed (the edge fails over, playback goes on), then the control node the origins poll is killed
/// (public playback and private playback with a token go on: the origins answer the edge's token checks from the keys
/// they hold), then the primary ingest node, while a backup encoder publishes the channel's key to the backup ingest
/// node (refused while the primary's lease lives): the backup continues the same broadcast and hls.js plays on.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class TopologyTests(StorageFixture fixture, ITestOutputHelper output)
{
    private const string NodeToken = "topology-node-token-0123456789abcdef0123";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Playback_through_the_edge_survives_losing_an_origin_and_the_control_node()
    {
        using var pg = new PostgresTestCluster();
        string[] database = ["--Database:Kind=postgres", $"--Database:ConnectionString={pg.CreateDatabase("topology")}"];
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("topology");
        // Control nodes on one database share the server secret (README, Secrets:Key).
        string[] secret = [$"--Secrets:Key={Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}"];
        // The ingest nodes pass the source through (no ladder): this test is about the viewer path, not transcoding. A
        // short channel lease, so the backup takes over within seconds of the primary's death (3 s, as a deployment with a
        // backup encoder standing by would set it).
        string[] Ingest(string node, bool createBucket) =>
        [
            "--Roles=ingest,control", "--Transcode:Enabled=false", $"--Playback:NodeToken={NodeToken}", $"--Ingest:NodeId={node}",
            "--Ingest:LeaseSeconds=3", "--Ingest:ReconnectGraceSeconds=30", "--Scheduling:Clustered=false", .. secret,
            .. S3Nodes.StorageArguments(url, bucket, createBucket), .. database,
        ];
        await using var ingest = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-primary", createBucket: true) });
        await using var backupIngest = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-backup", createBucket: false) });
        await using var control = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=control", $"--Playback:NodeToken={NodeToken}", "--Scheduling:Clustered=false", .. secret,
                .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database],
        });
        string[] originArguments =
        [
            "--Roles=origin", "--Admin:Token=", $"--Playback:ControlUrl={control.BaseUri}", $"--Playback:NodeToken={NodeToken}",
            "--Playback:RefreshSeconds=1", "--Origin:EdgeValidatesPlaybackTokens=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database,
        ];
        await using var originA = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = originArguments });
        await using var originB = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = originArguments });
        await using var edge = await EdgeNginx.StartAsync([originA.HttpPort, originB.HttpPort]);
        RtmpPublisher? backupEncoder = null;
        string Logs(string what) => $"{what}{Environment.NewLine}--- ingest ---{Environment.NewLine}{ingest.LogTail(30)}{Environment.NewLine}--- backup ingest ---{Environment.NewLine}{backupIngest.LogTail(30)}"
            + $"{Environment.NewLine}--- backup encoder ---{Environment.NewLine}{backupEncoder?.Log.Tail(6)}{Environment.NewLine}--- control ---{Environment.NewLine}{control.LogTail(20)}"
            + $"{Environment.NewLine}--- origin A ---{Environment.NewLine}{originA.LogTail(20)}{Environment.NewLine}--- origin B ---{Environment.NewLine}{originB.LogTail(20)}"
            + $"{Environment.NewLine}--- edge access log ---{Environment.NewLine}{Tail(edge.AccessLog, 20)}";

        var publicChannel = await ingest.Api.CreateChannelAsync($"topology {Guid.NewGuid():N}");
        var (privateSlug, privateId, privateKey) = await CreatePrivateAsync(control, $"topology private {Guid.NewGuid():N}");
        string token = await MintAsync(control, privateId);
        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
        await using var publisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(publicChannel.StreamKey), loops: 6);
        await using var privatePublisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(privateKey), loops: 6);

        using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = edge.BaseUri, Timeout = TimeSpan.FromSeconds(15) };
        await WaitFor.ConditionAsync(async () => await StatusAsync(anonymous, $"live/{privateSlug}/master.m3u8?token={token}") == HttpStatusCode.OK,
            Bound, "the private channel through the edge with a token (both origins have the snapshot and the media)", () => Logs(""));

        // hls.js plays the public channel through the edge.
        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(new Uri(edge.BaseUri, $"live/{publicChannel.Slug}/master.m3u8").ToString());
        await player.WaitUntilPlayingAsync(Bound, () => Logs("hls.js through the edge"));
        await player.WaitForCurrentTimeAsync(await player.GetCurrentTimeAsync() + 2, Bound, () => Logs("hls.js playing"));

        // What a viewer sees in each phase: seconds the picture stood still, and requests through the edge that failed.
        await using var watch = ViewerWatch.Start(player, anonymous, $"live/{publicChannel.Slug}/source/index.m3u8");
        await player.WaitForCurrentTimeAsync(await player.GetCurrentTimeAsync() + 4, Bound, () => Logs("hls.js before the kills"));

        // 1. One origin dies: the edge's next request to it fails over to the other.
        watch.Phase("origin killed");
        originA.KillNode();
        double atOriginKill = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(atOriginKill + 6, Bound, () => Logs("hls.js after origin A was killed"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(anonymous, $"live/{privateSlug}/master.m3u8?token={token}"));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(anonymous, $"live/{privateSlug}/master.m3u8"));

        // 2. The control node the origins poll dies: no control node is on the viewer path.
        watch.Phase("control node killed");
        control.KillNode();
        double atControlKill = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(atControlKill + 6, Bound, () => Logs("hls.js after the control node was killed"));
        using (var freshViewer = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = edge.BaseUri, Timeout = TimeSpan.FromSeconds(15) })
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(freshViewer, $"live/{publicChannel.Slug}/master.m3u8?viewer=new"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(freshViewer, $"live/{privateSlug}/master.m3u8?token={token}&viewer=new"));
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(freshViewer, $"live/{privateSlug}/source/index.m3u8?viewer=new"));
        }

        // 3. A backup encoder publishes the key to the backup ingest node, which refuses it while the primary's lease lives
        // (ffmpeg exits; like an encoder, it tries again). Then the primary ingest node dies with its broadcast live: its
        // lease lapses, the backup takes the channel and continues the same broadcast, and hls.js plays on through the edge.
        using var backupStop = new CancellationTokenSource();
        int backupAttempts = 0;
        var backupLoop = Task.Run(async () =>
        {
            while (!backupStop.IsCancellationRequested)
            {
                if (backupEncoder is { HasExited: false }) { await Task.Delay(250, backupStop.Token); continue; }
                if (backupEncoder is not null) await backupEncoder.DisposeAsync();
                if (backupAttempts > 0) await Task.Delay(500, backupStop.Token); // an encoder's reconnect delay
                backupEncoder = FfmpegPublisher.Start(clip, backupIngest.RtmpUrl(publicChannel.StreamKey), loops: 6);
                Interlocked.Increment(ref backupAttempts);
            }
        });
        try
        {
            await WaitFor.ConditionAsync(() => Task.FromResult(backupIngest.LogTail(400).Contains("refused: ingest node ingest-primary holds it", StringComparison.Ordinal)),
                Bound, "the backup ingest node to refuse the backup encoder while the primary holds the channel", () => Logs(""));
            string before = await PlaylistAsync(anonymous, $"live/{publicChannel.Slug}/source/index.m3u8?viewer=check", Logs);
            Assert.False(before.Split('\n').Contains("#EXT-X-DISCONTINUITY"),
                $"a discontinuity while the primary lived (did the backup take the channel?):{Environment.NewLine}{before}{Environment.NewLine}{Logs("")}");

            watch.Phase("primary ingest killed");
            ingest.KillNode();
            await ingest.WaitForExitAsync(Bound);
            double atIngestKill = await player.GetCurrentTimeAsync();
            await WaitFor.ConditionAsync(() => Task.FromResult(backupIngest.LogTail(400).Contains("continues here", StringComparison.Ordinal)),
                Bound, "the backup ingest node to continue the broadcast", () => Logs(""));
            await player.WaitForCurrentTimeAsync(atIngestKill + 6, Bound, () => Logs("hls.js after the primary ingest node was killed"));
            // The player can move on over segments it had buffered before the backup's first segment is listed (a CI run
            // read a playlist of the primary's segments only), so the join is waited for, not read once.
            string after = "";
            await WaitFor.ConditionAsync(async () =>
            {
                after = await PlaylistAsync(anonymous, $"live/{publicChannel.Slug}/source/index.m3u8?viewer=check", Logs);
                return after.Split('\n').Contains("#EXT-X-DISCONTINUITY");
            }, Bound, "a discontinuity where the backup continued the broadcast", () => $"{after}{Environment.NewLine}{Logs("")}");
            output.WriteLine($"the backup encoder took the channel after {backupAttempts} attempt(s)");
        }
        finally
        {
            await backupStop.CancelAsync();
            try { await backupLoop; } catch (OperationCanceledException) { }
        }

        var phases = await watch.StopAsync();

        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}{Environment.NewLine}{Logs("")}");
        string json = JsonSerializer.Serialize(phases);
        output.WriteLine(json);
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        await File.WriteAllTextAsync(Path.Combine(artifacts, "topology.json"), json);
        // Failover is invisible to a viewer with a few seconds of buffer: no request through the edge fails in any phase,
        // and the picture does not stand still for seconds after an origin or the control node dies. Reported, not judged:
        // before the kills (a player near the live edge on a loaded machine may wait for a segment with no node dying) and
        // the ingest takeover, whose media has a gap by design (the lease's lapse, then the backup's first segment).
        foreach (var phase in phases)
        {
            Assert.True(phase.FailedRequests == 0, $"requests through the edge failed while {phase.Name}: {json}{Environment.NewLine}{Logs("")}");
            if (phase.Name is not ("before the kills" or "primary ingest killed"))
                Assert.True(phase.FrozenSeconds < 4, $"the picture stood still {phase.FrozenSeconds:0.0} s while {phase.Name}: {json}{Environment.NewLine}{Logs("")}");
        }

        output.WriteLine($"played {await player.GetCurrentTimeAsync():0.0} s through the edge; stalls: {string.Join("; ", await player.GetStallsAsync())}");
        output.WriteLine(Tail(edge.AccessLog, 15));
        if (backupEncoder is not null) await backupEncoder.DisposeAsync();
    }

    /// <summary>One phase of the run as a viewer saw it.</summary>
    public sealed record PhaseReport(string Name, double Seconds, double FrozenSeconds, int Requests, int FailedRequests);

    /// <summary>
    /// Samples the player's position every 250 ms (a sample that did not advance while the page was supposed to play
    /// counts its interval as frozen) and requests the playlist through the edge every 250 ms, per named phase.
    /// </summary>
    private sealed class ViewerWatch : IAsyncDisposable
    {
        private readonly BrowserPlayer _player;
        private readonly HttpClient _edge;
        private readonly string _path;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<PhaseReport> _done = [];
        private readonly object _gate = new();
        private Task _loop = Task.CompletedTask;
        private string _phase = "before the kills";
        private DateTime _phaseStart = DateTime.UtcNow;
        private double _frozen;
        private int _requests;
        private int _failed;

        private ViewerWatch(BrowserPlayer player, HttpClient edge, string path)
        {
            _player = player;
            _edge = edge;
            _path = path;
        }

        public static ViewerWatch Start(BrowserPlayer player, HttpClient edge, string path)
        {
            var watch = new ViewerWatch(player, edge, path);
            watch._loop = watch.RunAsync();
            return watch;
        }

        public void Phase(string name)
        {
            lock (_gate)
            {
                Close();
                _phase = name;
            }
        }

        public async Task<IReadOnlyList<PhaseReport>> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            lock (_gate)
            {
                Close();
                return [.. _done];
            }
        }

        private void Close()
        {
            _done.Add(new PhaseReport(_phase, Math.Round((DateTime.UtcNow - _phaseStart).TotalSeconds, 1), Math.Round(_frozen, 2), _requests, _failed));
            _phaseStart = DateTime.UtcNow;
            _frozen = 0;
            _requests = 0;
            _failed = 0;
        }

        private async Task RunAsync()
        {
            double last = await _player.GetCurrentTimeAsync();
            var tick = DateTime.UtcNow;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(250, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                bool ok;
                try
                {
                    using var response = await _edge.GetAsync(_path);
                    ok = response.IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    ok = false;
                }

                double now = await _player.GetCurrentTimeAsync();
                var at = DateTime.UtcNow;
                lock (_gate)
                {
                    _requests++;
                    if (!ok) _failed++;
                    if (now - last < 0.05) _frozen += (at - tick).TotalSeconds;
                }

                last = now;
                tick = at;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }

    private static async Task<string> PlaylistAsync(HttpClient client, string path, Func<string, string> logs)
    {
        using var response = await client.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} through the edge: {(int)response.StatusCode} {body}{Environment.NewLine}{logs("")}");
        return body;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static string Tail(string path, int lines) =>
        File.Exists(path) ? string.Join(Environment.NewLine, File.ReadLines(path).TakeLast(lines)) : "(no access log yet)";

    private static async Task<(string Slug, string Id, string StreamKey)> CreatePrivateAsync(ServerProcess server, string name)
    {
        using var r = await server.Http.PostAsJsonAsync("api/channels", new { name, privatePlayback = true });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var root = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        return (root.GetProperty("slug").GetString()!, root.GetProperty("id").GetString()!, root.GetProperty("streamKey").GetString()!);
    }

    private static async Task<string> MintAsync(ServerProcess server, string id)
    {
        using var r = await server.Http.PostAsJsonAsync($"api/channels/{id}/playback-tokens", new { expiresInSeconds = 600 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }
}
