using System.Buffers;
using System.IO.Pipelines;
using Broadcast.Media;
using Broadcast.Network.Outbound;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

using Broadcast.Ingest.Pull.Proxy;

namespace Broadcast.Ingest.Pull;

/// <summary>What to pull into which stream. <paramref name="Key"/> identifies this assignment: a different key is a new session.</summary>
/// <param name="Tag">Set on the <see cref="LiveStream"/> like an RTMP publish's channel id.</param>
/// <param name="AllowUntrustedCertificate">rtmps:// and https://: accept a certificate that does not validate (test servers).</param>
/// <param name="AudioOnlyAllowed">A source with sound and no picture is taken (a program's music bed); a channel's pull needs video.</param>
public sealed record PullSpec(string StreamName, string? Tag, string Url, bool Loop, string Key, bool AllowUntrustedCertificate = false,
    bool AudioOnlyAllowed = false);

/// <summary>
/// One pull source as a supervised ffmpeg child: ffprobe names the codecs (and tells media from anything else), then ffmpeg
/// reads the source and writes FLV to stdout (copy where the codecs allow), which <see cref="FlvDemuxer"/> turns into frames
/// published on the hub under <see cref="PullSpec.StreamName"/> from the first tag on, exactly as an RTMP publish would be. An
/// unreachable or dropped source is retried with <see cref="RestartBackoff"/>; a source that is not media, or a missing file, ends
/// in <see cref="PullState.Failed"/> and is not retried. Each attempt is one broadcast (one publish, one end).
/// </summary>
public sealed partial class PullSession : IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly PullOptions _options;
    private readonly OutboundGuard _outbound;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly RestartBackoff _backoff;
    private readonly object _gate = new();
    private PullStatus _status;
    private Task? _run;
    private SupervisedProcess? _process;
    private readonly IPullAdmission _admission;
    private int _disposed;
    private int _connects;

    /// <param name="outbound">Checks a network source's URL and addresses before every attempt (the API checked it when it was set).</param>
    /// <param name="admission">
    /// The publish gate, asked with the stream name before each attempt's ffmpeg starts (so before it can publish): where this
    /// node took the channel over from a dead one, it prepares to continue that broadcast, as for an encoder's publish.
    /// </param>
    public PullSession(PullSpec spec, LiveStreamRegistry registry, PullOptions options, OutboundGuard outbound, ILogger logger,
        IPullAdmission admission, TimeProvider? time = null)
    {
        _admission = admission ?? throw new ArgumentNullException(nameof(admission));
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(outbound);
        Spec = spec;
        _registry = registry;
        _options = options;
        _outbound = outbound;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _backoff = new RestartBackoff(options.RetryInitial, options.RetryMax);
        string display = PullInput.TryResolve(spec.Url, options.MediaRoot, out var input, out _) ? input.Display : "(invalid)";
        _status = new PullStatus(spec.StreamName, display, PullState.Starting, null, 0, _time.GetUtcNow(), null, null);
    }

    public PullSpec Spec { get; }

    public PullStatus Status { get { lock (_gate) return _status; } }

    /// <summary>Raised each time an attempt starts publishing (its first frame reached the hub).</summary>
    public event Action<PullSession>? WentLive;

    /// <summary>Raised on every state change.</summary>
    public event Action<PullSession, PullStatus>? StateChanged;

    /// <summary>The running ffmpeg's (or ffprobe's) process id, for tests that kill it.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Completes when the session reached a final state.</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    public void Start() => _run ??= Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!PullInput.TryResolve(Spec.Url, _options.MediaRoot, out var input, out var invalid))
            {
                SetState(PullState.Failed, "invalid source: " + invalid);
                return;
            }
            int attempts = 0;
            await RestartLoop.RunAsync(async ct =>
            {
                SetState(PullState.Starting, Status.Reason, attempts);
                var outcome = await AttemptAsync(input, ct).ConfigureAwait(false);
                if (ct.IsCancellationRequested) return RunVerdict.Stop;
                switch (outcome.Kind)
                {
                    case OutcomeKind.Finished:
                        SetState(PullState.Stopped, outcome.Reason, attempts);
                        LogStopped(Spec.StreamName, input.Display, outcome.Reason);
                        return RunVerdict.Stop;
                    case OutcomeKind.Failed:
                        SetState(PullState.Failed, outcome.Reason, attempts + 1);
                        LogFailed(Spec.StreamName, input.Display, outcome.Reason);
                        return RunVerdict.Stop;
                }
                attempts = outcome.LiveFor >= _backoff.StableAfter ? 1 : attempts + 1;
                return RunVerdict.Failed(outcome.LiveFor, outcome.Reason);
            }, _backoff, (wait, verdict) =>
            {
                var now = _time.GetUtcNow();
                lock (_gate) _status = _status with { State = PullState.Retrying, Reason = verdict.Reason, Attempts = attempts, Since = now,
                    NextAttemptAt = now + wait };
                StateChanged?.Invoke(this, Status);
                LogRetrying(Spec.StreamName, input.Display, verdict.Reason!, wait.TotalMilliseconds);
            }, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogCrashed(ex, Spec.StreamName);
            SetState(PullState.Failed, "internal error: " + ex.Message);
            return;
        }
        if (!Status.State.IsFinal()) SetState(PullState.Stopped, "stopped");
    }

    private enum OutcomeKind { Retry, Finished, Failed }

    private sealed record Outcome(OutcomeKind Kind, string Reason, TimeSpan LiveFor = default);

    private async Task<Outcome> AttemptAsync(PullInput input, CancellationToken cancellationToken)
    {
        // http(s) sources: every request ffmpeg and ffprobe make goes through this attempt's checking proxy.
        await using var proxy = IsHttp(input) ? OutboundHttpProxy.Start(_outbound, _logger, _options.ConnectTimeout) : null;
        var outcome = await AttemptAsync(input, proxy, cancellationToken).ConfigureAwait(false);
        // A destination the policy refused (an HLS playlist naming a private address) is the reason, whatever ffmpeg said.
        return proxy?.LastRefusal is { } refusal && outcome.Kind != OutcomeKind.Finished
            ? new Outcome(OutcomeKind.Failed, refusal, outcome.LiveFor)
            : outcome;
    }

    private static bool IsHttp(PullInput input) =>
        input.Kind != PullSourceKind.File && (input.FfmpegInput.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || input.FfmpegInput.StartsWith("https://", StringComparison.OrdinalIgnoreCase));

    private async Task<Outcome> AttemptAsync(PullInput input, OutboundHttpProxy? proxy, CancellationToken cancellationToken)
    {
        // 0. The outbound policy, again: DNS may have changed since the source was set.
        var (target, refused) = await PrepareAsync(input, proxy, cancellationToken).ConfigureAwait(false);
        if (refused is not null) return refused;

        // 1. ffprobe: which codecs, and is it media at all.
        var probeRun = await ProbeAsync(input, target, cancellationToken).ConfigureAwait(false);
        if (probeRun.TimedOut) return new Outcome(OutcomeKind.Retry, $"the source did not answer within {_options.ProbeTimeout.TotalSeconds:0} s");
        if (probeRun.ExitCode != 0)
        {
            foreach (var line in probeRun.StderrTail) LogProbeOutput(Spec.StreamName, line);
            return FromFailure(PullProbe.Classify(probeRun.ExitCode, probeRun.StderrTail, input.Kind));
        }
        if (!PullProbe.TryParse(probeRun.StdoutLines(), out var probe, out var notMedia, Spec.AudioOnlyAllowed)) return FromFailure(notMedia!);
        lock (_gate) _status = _status with { Detail = probe.Describe() };

        // 2. ffmpeg: the source as FLV on stdout, into the hub.
        var ticket = await _admission.AdmitAsync(Spec.StreamName, cancellationToken).ConfigureAwait(false);
        return await RunFfmpegAsync(input, target!, probe, ticket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What ffprobe and ffmpeg open this attempt. A network source's host is resolved and checked now; rtmp:// and srt:// connect to
    /// the checked address itself (one of them, in turn per attempt), rtmps:// by name for TLS; http(s):// through the attempt's
    /// proxy, which checks each request's host again and connects to the address it checked.
    /// </summary>
    private async Task<(PullTarget? Target, Outcome? Refused)> PrepareAsync(PullInput input, OutboundHttpProxy? proxy,
        CancellationToken cancellationToken)
    {
        if (input.Kind == PullSourceKind.File) return (PullTarget.For(input, _options, Spec.AllowUntrustedCertificate), null);
        var check = await _outbound.CheckAsync(new Uri(input.FfmpegInput), cancellationToken).ConfigureAwait(false);
        switch (check.Decision.Verdict)
        {
            case OutboundVerdict.Refused:
                LogRefused(Spec.StreamName, input.Display, check.Decision.Reason);
                return (null, new Outcome(OutcomeKind.Failed, check.Decision.Describe()));
            case OutboundVerdict.HostNotFound:
                return (null, new Outcome(OutcomeKind.Retry, "host not found"));
        }
        var address = check.Addresses[_connects++ % check.Addresses.Count];
        return (PullTarget.For(input, _options, Spec.AllowUntrustedCertificate, address, proxy?.Url), null);
    }

    private static Outcome FromFailure(PullFailure failure) =>
        new(failure.Kind == PullFailureKind.Unreachable ? OutcomeKind.Retry : OutcomeKind.Failed, failure.Reason);

    /// <summary>ffmpeg reads these from the environment; only the attempt's own proxy (an argument) may route its requests.</summary>
    private static readonly string[] ProxyVariables = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
        "ALL_PROXY"];

    private async Task<ProcessResult> ProbeAsync(PullInput input, PullTarget? target, CancellationToken cancellationToken)
    {
        var launch = new ProcessLaunch(_options.FfprobePath, PullCommand.BuildProbe(input, _options, target)) { RemovedEnvironment = ProxyVariables };
        await using var process = SupervisedProcess.Start(launch);
        _process = process;
        try
        {
            return await process.CompleteAsync(ReadOnlyMemory<byte>.Empty, _options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _process = null;
        }
    }

    private async Task<Outcome> RunFfmpegAsync(PullInput input, PullTarget target, PullProbeResult probe, PublishTicket ticket,
        CancellationToken cancellationToken)
    {
        // stdin stays open: 'q' on it is ffmpeg's graceful stop.
        var launch = new ProcessLaunch(_options.FfmpegPath, PullCommand.Build(input, Spec.Loop, probe, _options, target))
        {
            Stop = StopRequest.QuitKey,
            RemovedEnvironment = ProxyVariables,
            OnStderrLine = line => LogFfmpeg(Spec.StreamName, line),
        };
        await using var process = SupervisedProcess.Start(launch);
        _process = process;
        LogStarting(Spec.StreamName, input.Display, process.Id, probe.Describe());
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var publish = new Publish(this, ticket, runCts);
        long liveSince = 0;
        long lastData = Environment.TickCount64;
        bool hung = false;
        var watchdog = Task.Run(async () =>
        {
            // Silence before the first byte may be a slow open (rw_timeout covers it); once live, it is a stalled source.
            while (!runCts.IsCancellationRequested)
            {
                await Task.Delay(500, runCts.Token).ConfigureAwait(false);
                var limit = publish.Stream is null ? _options.ProbeTimeout : _options.ConnectTimeout;
                if (Environment.TickCount64 - Volatile.Read(ref lastData) > limit.TotalMilliseconds)
                {
                    hung = true;
                    process.Kill();
                    return;
                }
            }
        }, CancellationToken.None);
        try
        {
            var pipe = PipeReader.Create(process.Stdout);
            while (true)
            {
                var result = await pipe.ReadAsync(runCts.Token).ConfigureAwait(false);
                Volatile.Write(ref lastData, Environment.TickCount64);
                var consumed = publish.Consume(result.Buffer, out string? refused);
                pipe.AdvanceTo(consumed, result.Buffer.End);
                if (refused is not null) return new Outcome(OutcomeKind.Retry, refused);
                if (publish.Stream is not null && liveSince == 0)
                {
                    liveSince = Environment.TickCount64;
                    SetState(PullState.Live, null, Status.Attempts);
                    LogLive(Spec.StreamName, input.Display);
                    WentLive?.Invoke(this);
                }
                if (result.IsCompleted) break;
            }
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            await process.StopAsync(_options.StopGrace).ConfigureAwait(false);
            await runCts.CancelAsync().ConfigureAwait(false);
            try { await watchdog.ConfigureAwait(false); } catch (OperationCanceledException) { }
            publish.End();
            _process = null;
        }
        await process.DrainStderrAsync().ConfigureAwait(false);
        var liveFor = liveSince == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Environment.TickCount64 - liveSince);
        if (cancellationToken.IsCancellationRequested) return new Outcome(OutcomeKind.Finished, "stopped", liveFor);
        if (publish.EndedByServer) return new Outcome(OutcomeKind.Finished, "the server ended the broadcast (event end or an admin)", liveFor);
        if (hung) return new Outcome(OutcomeKind.Retry,
            publish.Stream is null ? "the source sent nothing" : $"no data from the source for {_options.ConnectTimeout.TotalSeconds:0} s", liveFor);
        if (process.ExitCode == 0 && liveSince != 0)
        {
            if (input.EndsByItself && !Spec.Loop) return new Outcome(OutcomeKind.Finished, "the source played to its end", liveFor);
            return new Outcome(OutcomeKind.Retry, Spec.Loop ? "the source ended; starting it again" : "the source ended the stream", liveFor);
        }
        if (publish.Error is { } error) return new Outcome(OutcomeKind.Retry, "unreadable output: " + error, liveFor);
        var failure = PullProbe.Classify(process.ExitCode, process.StderrTail, input.Kind);
        return failure.Kind == PullFailureKind.Unreachable ? new Outcome(OutcomeKind.Retry, failure.Reason, liveFor)
            : FromFailure(failure) with { LiveFor = liveFor };
    }

    /// <summary>
    /// The hub side of one attempt (<see cref="FlvPublish"/>): the publish starts at the first tag, frames go in, and it ends
    /// when the attempt ends. A server-side end (an event's end, an admin) ends the attempt for good.
    /// </summary>
    private sealed class Publish
    {
        private readonly FlvPublish _flv;
        private readonly CancellationTokenSource _run;
        private bool _ending;

        public Publish(PullSession session, PublishTicket ticket, CancellationTokenSource run)
        {
            _run = run;
            _flv = new FlvPublish(session._registry, ticket)
            {
                Protocol = "pull",
                Started = stream =>
                {
                    stream.Tag = session.Spec.Tag;
                    stream.Completed += OnCompleted;
                },
            };
        }

        public LiveStream? Stream => _flv.Stream;

        public bool EndedByServer { get; private set; }

        public string? Error => _flv.LastFrameError;

        public SequencePosition Consume(ReadOnlySequence<byte> buffer, out string? refused)
        {
            var position = _flv.Write(buffer, out var refusal, out string? error);
            // Bytes that can never be a tag: stop this attempt rather than buffer forever.
            refused = refusal switch
            {
                FlvPublishRefusal.HubInUse => "the channel is already live from another publisher",
                FlvPublishRefusal.NotFlv => "ffmpeg's FLV output is malformed: " + error,
                _ => null,
            };
            return position;
        }

        private void OnCompleted(LiveStream stream)
        {
            stream.Completed -= OnCompleted;
            if (Volatile.Read(ref _ending)) return;
            // Someone else ended it (an event's end, an admin): this attempt is over and must not come back by itself.
            EndedByServer = true;
            try { _run.Cancel(); } catch (ObjectDisposedException) { }
        }

        public void End()
        {
            Volatile.Write(ref _ending, true);
            if (Stream is { } stream) stream.Completed -= OnCompleted;
            _flv.End();
        }
    }

    private void SetState(PullState state, string? reason, int? attempts = null)
    {
        PullStatus status;
        lock (_gate)
        {
            _status = _status with { State = state, Reason = reason, Attempts = attempts ?? _status.Attempts, Since = _time.GetUtcNow(),
                NextAttemptAt = null };
            status = _status;
        }
        StateChanged?.Invoke(this, status);
    }

    /// <summary>Stops ffmpeg (gracefully, then by force) and ends the publish; the state becomes stopped unless it already was final.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await Completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Pulling {Source} into {Channel}: ffmpeg pid {Pid}, {Detail}")]
    private partial void LogStarting(string channel, string source, int pid, string detail);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Pull of {Source} into {Channel} is live")]
    private partial void LogLive(string channel, string source);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "Pull of {Source} into {Channel}: {Reason}; retrying in {BackoffMs} ms")]
    private partial void LogRetrying(string channel, string source, string reason, double backoffMs);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Error, Message = "Pull of {Source} into {Channel} failed and will not be retried: {Reason}")]
    private partial void LogFailed(string channel, string source, string reason);

    [LoggerMessage(EventId = 1705, Level = LogLevel.Information, Message = "Pull of {Source} into {Channel} stopped: {Reason}")]
    private partial void LogStopped(string channel, string source, string reason);

    [LoggerMessage(EventId = 1706, Level = LogLevel.Error, Message = "Pull session of {Channel} crashed")]
    private partial void LogCrashed(Exception exception, string channel);

    [LoggerMessage(EventId = 1707, Level = LogLevel.Debug, Message = "ffmpeg pull[{Channel}]: {Line}")]
    private partial void LogFfmpeg(string channel, string line);

    [LoggerMessage(EventId = 1709, Level = LogLevel.Warning, Message = "Pull of {Source} into {Channel} refused by the outbound policy: {Reason}")]
    private partial void LogRefused(string channel, string source, string reason);

    [LoggerMessage(EventId = 1710, Level = LogLevel.Debug, Message = "ffprobe pull[{Channel}]: {Line}")]
    private partial void LogProbeOutput(string channel, string line);
}
