using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Broadcast.TestSupport;

/// <summary>Knobs for a <see cref="ServerProcess"/>.</summary>
public sealed record ServerOptions
{
    /// <summary>Extra command-line switches, e.g. "--Packager:SegmentSeconds=1".</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    public int SegmentSeconds { get; init; } = 2;

    /// <summary>The HTTP port, when the test must name the server's URL before it starts (e.g. in another switch); null: a free one.</summary>
    public int? HttpPort { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Path of Broadcast.Server.dll; null to locate it (<see cref="ServerProcess.LocateServerDll"/>).</summary>
    public string? ServerDll { get; init; }

    /// <summary>Environment overrides (null value removes a variable).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Run with the shipped JIT setting (quick JIT off: every method compiled optimized on its first call), for runs that
    /// measure the server's own steady cost or memory (the soak). Otherwise the server under test starts with quick JIT
    /// on, the runtime's default: a test's server lives for seconds to a minute, and compiling every method it touches
    /// optimized took 3.7 CPU-s of a 3.9 s start to /healthz against 1.9 CPU-s and 2.2 s with quick JIT (three starts
    /// each, 2 cores). It changes how code is compiled, never what it does.
    /// </summary>
    public bool ShippedJit { get; init; }
}

/// <summary>
/// The real Broadcast.Server run as a child process (<c>dotnet exec Broadcast.Server.dll</c>) with a fresh
/// data dir, free RTMP and HTTP ports on loopback and a known admin token; ready once /healthz answers.
/// Kept out of process on purpose: RTMP sockets, ffmpeg children and shutdown behave as in production,
/// and a crash shows up as an exit code plus a log tail rather than a torn-down test host.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly TempDirectory _dataDir;

    private ServerProcess(ExternalProcess process, TempDirectory dataDir, int rtmpPort, int httpPort, string adminToken)
    {
        _process = process;
        _dataDir = dataDir;
        RtmpPort = rtmpPort;
        HttpPort = httpPort;
        AdminToken = adminToken;
        BaseUri = new Uri($"http://127.0.0.1:{httpPort}/");
        Http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        Viewer = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Api = new BroadcastApi(Http, () => LogTail(80));
    }

    public int RtmpPort { get; }

    public int HttpPort { get; }

    public string AdminToken { get; }

    public Uri BaseUri { get; }

    public string DataDirectory => _dataDir.Path;

    public string MediaDirectory => Path.Combine(_dataDir.Path, "media");

    /// <summary>An HttpClient on the server carrying the admin bearer token.</summary>
    public HttpClient Http { get; }

    /// <summary>An HttpClient on the server without credentials, as a viewer.</summary>
    public HttpClient Viewer { get; }

    /// <summary>Typed access to the admin API.</summary>
    public BroadcastApi Api { get; }

    public LineRingBuffer Log => _process.Output;

    public bool HasExited => _process.HasExited;

    /// <summary>The server's pid (<c>dotnet exec</c> runs the server in the host process itself), for signals and /proc.</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// The node dies as when its machine or container does: SIGKILL to the server and everything it started (Janus,
    /// ffmpeg). A SIGKILL of the server alone would leave its Janus running, orphaned, for the rest of the test run.
    /// </summary>
    public void KillNode() => _process.Kill();

    /// <summary>The exit code once the server has exited; valid after <see cref="WaitForExitAsync"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the server to exit on its own (after a signal) and returns its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public string RtmpUrl(string streamKey) => $"rtmp://127.0.0.1:{RtmpPort}/live/{streamKey}";

    /// <summary>
    /// The first dashboard admin's generated password, which the start-up banner prints once
    /// ("Dashboard sign-in (shown once, …): user 'admin', password …"). Read from the log and kept.
    /// </summary>
    public async Task<(string User, string Password)> DashboardCredentialsAsync()
    {
        if (_dashboardCredentials is { } known)
        {
            return known;
        }

        (string, string)? found = null;
        await WaitFor.ConditionAsync(
            () =>
            {
                var match = System.Text.RegularExpressions.Regex.Match(_process.Output.Tail(5000), @"Dashboard sign-in \(shown once[^)]*\): user '([^']+)', password (\S+)");
                if (match.Success)
                {
                    found = (match.Groups[1].Value, match.Groups[2].Value);
                }

                return Task.FromResult(match.Success);
            },
            TimeSpan.FromSeconds(30),
            "the start-up banner to print the first dashboard admin's password",
            () => LogTail(80),
            TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        _dashboardCredentials = found;
        return found!.Value;
    }

    private (string User, string Password)? _dashboardCredentials;

    /// <summary>Resolves a URL the API returned (absolute or server-relative) against this server.</summary>
    public Uri Absolute(string url) => new(BaseUri, url);

    /// <summary>The last <paramref name="lines"/> lines of server output, for assertion messages.</summary>
    public string LogTail(int lines = 200) =>
        (_process.HasExited ? $"(server exited with code {_process.ExitCode}){System.Environment.NewLine}" : "") + _process.Output.Tail(lines);

    public static async Task<ServerProcess> StartAsync(ServerOptions? options = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(options ?? new ServerOptions()).ConfigureAwait(false);
            }
            catch (ConditionFailedException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                // The ports were free when picked and something else (another test's connection, a child process) took
                // one before the server bound it: start again on other ports.
            }
        }
    }

    private static async Task<ServerProcess> StartOnceAsync(ServerOptions options)
    {
        var dll = options.ServerDll ?? LocateServerDll();
        var dataDir = new TempDirectory("broadcast-server");
        Directory.CreateDirectory(Path.Combine(dataDir.Path, "media"));
        var rtmpPort = FreePort.Tcp();
        var httpPort = options.HttpPort ?? FreePort.Tcp();
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var url = $"http://127.0.0.1:{httpPort}";

        var args = new List<string> { "exec", dll };
        args.AddRange(Arguments(dataDir.Path, rtmpPort, url, token, options.SegmentSeconds, Path.GetDirectoryName(dll)!));
        args.Add(TestPasswordHashing.Argument);
        args.AddRange(options.ExtraArguments);

        var env = new Dictionary<string, string?>
        {
            // Inherited URL settings would fight our switches.
            ["ASPNETCORE_URLS"] = null,
            ["DOTNET_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_HTTPS_PORTS"] = null,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_TC_QuickJit"] = options.ShippedJit ? null : "1",
        };
        foreach (var (k, v) in options.Environment)
        {
            env[k] = v;
        }

        // Working dir = data dir so any relative default (./data) lands in the throwaway folder;
        // --contentRoot keeps appsettings.json next to the dll.
        var process = ExternalProcess.Start("dotnet", args, workingDirectory: dataDir.Path, environment: env, tailLines: 5000);
        var server = new ServerProcess(process, dataDir, rtmpPort, httpPort, token);
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    if (process.HasExited)
                    {
                        // Let the last output lines arrive: they usually say why it died.
                        await process.WaitForExitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                        throw new ConditionFailedException($"Broadcast.Server exited with code {process.ExitCode} before /healthz answered.{System.Environment.NewLine}{process.Output.Tail(200)}");
                    }

                    using var r = await server.Viewer.GetAsync("healthz").ConfigureAwait(false);
                    return r.IsSuccessStatusCode;
                },
                options.StartTimeout,
                $"Broadcast.Server ({dll}) to answer GET {url}/healthz",
                () => server.LogTail(),
                TimeSpan.FromMilliseconds(250)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    /// <summary>The contract switches (DESIGN.md "Contracts the tests and tools rely on").</summary>
    public static IReadOnlyList<string> Arguments(string dataDir, int rtmpPort, string httpUrl, string adminToken, int segmentSeconds, string contentRoot) =>
    [
        $"--contentRoot={contentRoot}",
        string.Create(CultureInfo.InvariantCulture, $"--Rtmp:Port={rtmpPort}"),
        $"--Http:Urls={httpUrl}",
        $"--Urls={httpUrl}",
        $"--Storage:Path={Path.Combine(dataDir, "media")}",
        $"--Database:ConnectionString=Data Source={Path.Combine(dataDir, "broadcast.db")}",
        $"--Admin:Token={adminToken}",
        string.Create(CultureInfo.InvariantCulture, $"--Packager:SegmentSeconds={segmentSeconds}"),
    ];

    /// <summary>
    /// Broadcast.Server.dll: BROADCAST_SERVER_DLL, else next to the test assembly (the EndToEnd project
    /// references server/, so the build copies it with its runtimeconfig), else server/bin/*/net10.0.
    /// </summary>
    public static string LocateServerDll()
    {
        var fromEnv = System.Environment.GetEnvironmentVariable("BROADCAST_SERVER_DLL");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        var local = Path.Combine(AppContext.BaseDirectory, "Broadcast.Server.dll");
        if (File.Exists(local) && File.Exists(Path.ChangeExtension(local, ".runtimeconfig.json")))
        {
            return local;
        }

        var bin = Path.Combine(RepoPaths.Root, "server", "bin");
        var candidate = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, "Broadcast.Server.dll", SearchOption.AllDirectories)
                .Where(p => File.Exists(Path.ChangeExtension(p, ".runtimeconfig.json")))
                .OrderByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault()
            : null;
        return candidate ?? throw new FileNotFoundException(
            $"Broadcast.Server.dll not found next to {AppContext.BaseDirectory} nor under {bin}; build server/ or set BROADCAST_SERVER_DLL.");
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        Http.Dispose();
        Viewer.Dispose();
        _dataDir.Dispose();
    }
}
