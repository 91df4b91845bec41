namespace Broadcast.TestSupport;

/// <summary>
/// A real S3-compatible peer for tests: npm <c>s3rver</c> 3.7.1 (tests/s3/package.json) on 127.0.0.1, with its own
/// data folder. Stop and start it again on the same port and folder to simulate an outage.
/// <para>s3rver's quirks (DESIGN.md): Node 17+ needs <c>--openssl-legacy-provider</c>; it stores aws-chunked upload
/// framing as object bytes, so clients must set <c>UseChunkEncoding=false</c>; it ignores If-Match and multipart
/// abort. Credentials are fixed: <see cref="AccessKey"/>/<see cref="SecretKey"/>. Its own PUT rewrites an object's file in
/// place, so a writer killed mid-upload would leave an object torn for good; serve.js loads tests/s3/atomic-put.js, which
/// replaces the object atomically, as S3 does.</para>
/// </summary>
public sealed class S3TestServer : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    /// <summary>Set by ./test.sh to a shared s3rver; tests that only need some S3 use it instead of starting one.</summary>
    public const string EnvironmentVariable = "BROADCAST_TEST_S3";

    private static readonly SemaphoreSlim s_sharedGate = new(1, 1);
    private static S3TestServer? s_shared;
    private readonly TempDirectory _data;
    private ExternalProcess? _process;

    private S3TestServer(int port, TempDirectory data)
    {
        Port = port;
        _data = data;
        Url = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }

    public string Url { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>s3rver's data folder (objects are plain files there: {bucket}/{key}._S3rver_object).</summary>
    public string DataDirectory => _data.Path;

    public static string Directory => Path.Combine(RepoPaths.Root, "tests", "s3");

    /// <summary>The URL of a running S3 peer: <see cref="EnvironmentVariable"/> when set, else one s3rver per test process.</summary>
    public static async Task<string> SharedUrlAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } url)
        {
            return url.TrimEnd('/');
        }

        await s_sharedGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (s_shared is null)
            {
                s_shared = await StartAsync().ConfigureAwait(false);
                var shared = s_shared;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    shared.Kill();
                    shared._data.Dispose();
                };
            }

            return s_shared.Url;
        }
        finally
        {
            s_sharedGate.Release();
        }
    }

    /// <summary>A unique, valid bucket name for one test.</summary>
    public static string NewBucketName(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)].ToLowerInvariant();

    public static async Task<S3TestServer> StartAsync()
    {
        await EnsureInstalledAsync().ConfigureAwait(false);
        var server = new S3TestServer(FreePort.Tcp(), new TempDirectory("broadcast-s3rver"));
        await server.RunAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>Kills the server (an outage as the client sees one: connections refused).</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        await _process.DisposeAsync().ConfigureAwait(false);
        _process = null;
        await WaitFor.ConditionAsync(async () => !await FreePort.IsListeningAsync(Port).ConfigureAwait(false),
            TimeSpan.FromSeconds(10), $"s3rver on port {Port} to stop").ConfigureAwait(false);
    }

    /// <summary>Starts it again on the same port with the same data.</summary>
    public Task RestartAsync() => RunAsync();

    public string LogTail(int lines = 60) => _process?.Output.Tail(lines) ?? "(s3rver not running)";

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _data.Dispose();
    }

    private void Kill()
    {
        try { _process?.Dispose(); }
        catch (InvalidOperationException) { }
    }

    private async Task RunAsync()
    {
        // serve.js exits when our end of its stdin closes: a killed test host leaves no server behind.
        var env = new Dictionary<string, string?> { ["NODE_OPTIONS"] = "--openssl-legacy-provider" };
        _process = ExternalProcess.Start("node", [Path.Combine(Directory, "serve.js"), _data.Path, Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            workingDirectory: Directory, environment: env, tailLines: 400, keepStandardInputOpen: true);
        var process = _process;
        await WaitFor.ConditionAsync(async () =>
            {
                if (process.HasExited) throw new ConditionFailedException($"s3rver exited with code {process.ExitCode}:{Environment.NewLine}{process.Output.Tail(40)}");
                return await FreePort.IsListeningAsync(Port).ConfigureAwait(false);
            },
            TimeSpan.FromSeconds(30), $"s3rver to listen on 127.0.0.1:{Port}", () => process.Output.Tail(40), TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
    }

    private static async Task EnsureInstalledAsync()
    {
        if (Installed()) return;
        using var _ = await CrossProcessLock.AcquireAsync(Path.Combine(Path.GetTempPath(), "broadcast-s3-npm.lock"), TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        if (Installed()) return;
        var r = await ExternalProcess.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(4), workingDirectory: Directory).ConfigureAwait(false);
        if (r.ExitCode != 0 || !Installed())
            throw new InvalidOperationException($"npm ci in {Directory} failed (exit {r.ExitCode}):{Environment.NewLine}{r.OutputTail}");
    }

    private static bool Installed() => File.Exists(Path.Combine(Directory, "node_modules", "s3rver", "bin", "s3rver.js"));
}
