using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Broadcast.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// Runs this node's Janus as a supervised child: started on the first request for it (a WHEP viewer, a room, or a
/// real-time channel going live; a node nobody watches in real time runs none), with a configuration generated for
/// each start (a free loopback port unless one is configured, a new API secret), restarted with backoff when it dies.
/// Callers get the live <see cref="JanusSession"/>; when Janus goes away <see cref="Lost"/> tells them their handles are gone.
/// </summary>
public sealed partial class JanusSupervisor : IJanusClient, IHostedService, IAsyncDisposable
{
    private readonly JanusOptions _options;
    private readonly ILogger<JanusSupervisor> _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource<JanusSession> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _disposed;
    private volatile int _processId;

    public JanusSupervisor(IOptions<JanusOptions> options, ILogger<JanusSupervisor> logger, TimeProvider? time = null)
    {
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public bool Enabled => _options.Enabled;

    /// <summary>Tests only: whether a command line is the Janus this node starts (by default, one started as Janus:Binary).</summary>
    internal Func<string[], bool>? IsJanusCommandLine { get; init; }

    /// <summary>The running Janus's process id, 0 when none runs (tests end it to check the restart).</summary>
    internal int ProcessId => _processId;

    /// <summary>True while a started Janus answers on its API session.</summary>
    public bool IsReady
    {
        get
        {
            lock (_gate) return _ready.Task.IsCompletedSuccessfully;
        }
    }

    /// <summary>Janus ended (crashed, or stopped answering): every handle of <paramref name="session"/> is gone.</summary>
    public event Action<IJanusSession>? Lost;

    /// <summary>A handle's PeerConnection ended on the running Janus (or the handle was detached): its session and handle.</summary>
    public event Action<IJanusSession, long>? HandleEnded;

    /// <summary>A handle's PeerConnection is up on the running Janus (<c>webrtcup</c>): its session and handle.</summary>
    public event Action<IJanusSession, long>? HandleUp;

    async Task<IJanusSession> IJanusClient.GetSessionAsync(CancellationToken cancellationToken) =>
        await GetSessionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The session of the running Janus, starting Janus first if it is not running yet.</summary>
    public async Task<JanusSession> GetSessionAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) throw new InvalidOperationException("Janus is disabled (Janus:Enabled=false)");
        Task<JanusSession> ready;
        lock (_gate)
        {
            if (_loop is null)
            {
                // Janus outlives the request that started it: none of the request's context (log scope) goes with it.
                using (ExecutionContext.SuppressFlow())
                {
                    _loop = Task.Run(() => RestartLoop.RunAsync(RunOnceAsync, new RestartBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)),
                        (wait, verdict) => LogRestart(wait.TotalMilliseconds, verdict.Reason ?? ""), _time, _stop.Token), CancellationToken.None);
                }
            }

            ready = _ready.Task;
        }

        return await ready.WaitAsync(_options.StartTimeout + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
    {
        var files = new JanusConfigFiles(_options, _options.ConfigDirectory);
        int port = _options.HttpPort > 0 ? _options.HttpPort : FreeTcpPort();
        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        files.Write(port, secret);
        var pidFile = new JanusPidFile(files.Directory, _options.Binary, IsJanusCommandLine);
        if (await pidFile.EndLeftoverAsync().ConfigureAwait(false) is { } leftover) LogLeftoverEnded(leftover, pidFile.Path);
        long started = _time.GetTimestamp();
        var tail = new LineTail(32);
        await using var process = SupervisedProcess.Start(new ProcessLaunch(_options.Binary,
            ["-C", files.MainFile, "-F", files.Directory, "--disable-colors"])
        {
            OnStderrLine = line => LogJanusLine(tail, line),
        });
        // Janus logs to stdout: every line goes to our log (warnings and errors at Warning) and the last ones into the tail.
        var output = Task.Run(() => PumpOutputAsync(process.Stdout, tail), CancellationToken.None);
        _processId = process.Id;
        pidFile.Write(process.Id);
        LogStarted(process.Id, port, files.Directory);
        var apiUri = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/janus/"));
        JanusSession? session = null;
        try
        {
            session = await ConnectAsync(apiUri, secret, process, cancellationToken).ConfigureAwait(false);
            if (session is null)
            {
                return RunVerdict.Failed(_time.GetElapsedTime(started), process.HasExited
                    ? $"janus exited {process.ExitCode}: {tail.Last}"
                    : $"janus did not answer its HTTP API within {_options.StartTimeout.TotalSeconds:0} s: {tail.Last}");
            }

            // Every user of Janus hears of its handles here, whichever session (Janus run) they belong to.
            var live = session;
            live.HandleEnded += handle => HandleEnded?.Invoke(live, handle);
            live.HandleUp += handle => HandleUp?.Invoke(live, handle);
            LogReady(process.Id, session.Id);
            lock (_gate) _ready.TrySetResult(session);
            await Task.WhenAny(process.Exited, session.Ended, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return RunVerdict.Failed(_time.GetElapsedTime(started),
                process.HasExited ? $"janus exited {process.ExitCode}: {tail.Last}" : "janus stopped answering its session");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return RunVerdict.Stop;
        }
        finally
        {
            lock (_gate)
            {
                if (_ready.Task.IsCompleted) _ready = new TaskCompletionSource<JanusSession>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (session is not null)
            {
                Lost?.Invoke(session);
                await session.DisposeAsync().ConfigureAwait(false);
            }

            // Janus ends its PeerConnections on SIGTERM-free kill as well; nothing of it outlives the process.
            await process.StopAsync(TimeSpan.Zero).ConfigureAwait(false);
            pidFile.Delete();
            await output.ConfigureAwait(false);
            _processId = 0;
            LogStopped(process.Id);
        }
    }

    /// <summary>Creates the session once the HTTP API answers; null when Janus died or the start timeout passed.</summary>
    private async Task<JanusSession?> ConnectAsync(Uri apiUri, string secret, SupervisedProcess process, CancellationToken cancellationToken)
    {
        long since = _time.GetTimestamp();
        while (!process.HasExited && _time.GetElapsedTime(since) < _options.StartTimeout)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                return await JanusSession.CreateAsync(_http, apiUri, secret, attempt.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or JanusApiException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                await Task.WhenAny(process.Exited, Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken)).ConfigureAwait(false);
            }
        }

        return null;
    }

    private async Task PumpOutputAsync(Stream stdout, LineTail tail)
    {
        using var reader = new StreamReader(stdout);
        try
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0) LogJanusLine(tail, line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    private void LogJanusLine(LineTail tail, string line)
    {
        tail.Add(line);
        if (line.Contains("[ERR]", StringComparison.Ordinal) || line.Contains("[WARN]", StringComparison.Ordinal)) LogJanusWarning(line);
        else LogJanusOutput(line);
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Started now; the first viewer finds it running.
        if (_options.Enabled && !_options.StartOnFirstViewer) StartWithoutWaiting();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Starts Janus now unless it runs or is starting, and returns at once: the next <see cref="GetSessionAsync"/> finds it
    /// up. A failed start is retried by the loop, not thrown here.
    /// </summary>
    public void StartWithoutWaiting()
    {
        _ = GetSessionAsync(CancellationToken.None).ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_gate) loop = _loop;
        if (loop is null) return;
        // The loop ends by cancellation when the stop lands in a backoff wait (Janus died a moment before: a host's stop
        // signals the whole process group at once): that is the stop we asked for, not a failure of it.
        try { await loop.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }
    }

    /// <summary>Idempotent: the container disposes it both as itself and as the hosted service it also is.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _http.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information,
        Message = "Janus started (pid {Pid}), HTTP API on 127.0.0.1:{Port}, configuration in {Directory}")]
    private partial void LogStarted(int pid, int port, string directory);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Janus (pid {Pid}) is ready: session {SessionId}")]
    private partial void LogReady(int pid, long sessionId);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Janus restarts in {WaitMs} ms after: {Reason}")]
    private partial void LogRestart(double waitMs, string reason);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Information, Message = "Janus (pid {Pid}) stopped")]
    private partial void LogStopped(int pid);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Debug, Message = "janus: {Line}")]
    private partial void LogJanusOutput(string line);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "janus: {Line}")]
    private partial void LogJanusWarning(string line);

    [LoggerMessage(EventId = 8007, Level = LogLevel.Warning,
        Message = "Janus (pid {Pid}) left running by an earlier run of this server, which ended without stopping it ({PidFile}), " +
            "was killed to free its ports")]
    private partial void LogLeftoverEnded(int pid, string pidFile);
}

/// <summary>The last lines a child printed, for the reason given when it fails.</summary>
internal sealed class LineTail(int capacity)
{
    private readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        lock (_lines)
        {
            if (_lines.Count == capacity) _lines.Dequeue();
            _lines.Enqueue(line);
        }
    }

    /// <summary>The last line that reports a problem, else the last line.</summary>
    public string Last
    {
        get
        {
            lock (_lines)
            {
                return _lines.LastOrDefault(l => l.Contains("[ERR]", StringComparison.Ordinal)) ?? _lines.LastOrDefault() ?? "";
            }
        }
    }
}
