using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broadcast.Media;
using Broadcast.Transcoder.Encoding;
using Broadcast.Media.Flv;
using Broadcast.Transcoder.Ladder;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Transcoder;

/// <summary>
/// The supervised ffmpeg child of one live stream. The source's video goes to ffmpeg's stdin as FLV from a bounded
/// <see cref="LiveStreamReader"/> (a slow ffmpeg loses frames up to the next keyframe; the publisher never waits);
/// each rung comes back as FLV over its own loopback TCP connection and is published on its own <see cref="LiveStream"/>,
/// which outlives restarts. Crash or silence for <see cref="TranscodeSessionSettings.HangTimeout"/> restarts ffmpeg with
/// backoff; a hardware back-end that dies early moves to the next back-end; sustained speed below the threshold sheds
/// the lowest rung.
/// </summary>
public sealed partial class TranscodeSession : IAsyncDisposable
{
    private readonly LiveStream _source;
    private readonly TranscodeSessionSettings _settings;
    private readonly ILogger _logger;
    private readonly List<EncoderBackend> _backends;
    private readonly List<PlannedRung> _active;
    private readonly List<string> _shed = new();
    private readonly List<string> _warnings = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SourceVideoPump _input;
    // One reader for the session's life. A restarted ffmpeg replays the kept GOPs up to the last frame the dead one was
    // given and goes on with the next frame in this reader's queue, so its input has no hole. A reader opened per run
    // starts at the live edge's keyframe instead: behind a lagging ffmpeg that skipped seconds of source, and ffmpeg
    // closes such a hole by restamping what follows (even with -copyts), so every rung ran seconds behind the source.
    private readonly LiveStreamReader _reader;
    private FfmpegProgress _progress = new();
    private Task? _run;
    private int _restarts;
    private SupervisedProcess? _process;
    private int _disposed;
    private readonly bool _lowLatency;

    public TranscodeSession(LiveStream source, LiveStreamReader reader, IReadOnlyList<PlannedRung> rungs, IReadOnlyList<EncoderBackend> backends,
        TranscodeSessionSettings settings, ILogger logger, bool lowLatency = false)
    {
        _lowLatency = lowLatency;
        _source = source;
        _reader = reader;
        _input = new SourceVideoPump(() => RungsDelivered);
        _settings = settings;
        _logger = logger;
        _backends = backends.ToList();
        _active = rungs.ToList();
        Outputs = rungs.Select(r => new RungOutput(r, new LiveStream(source.Name + "/" + r.Name, source.TimeProvider))).ToArray();
    }

    public IReadOnlyList<RungOutput> Outputs { get; }

    /// <summary>
    /// The decode time of the last frame every running rung has delivered (null before any has one): where a restarted
    /// ffmpeg resumes, and how far back the replay must reach.
    /// </summary>
    private long? RungsDelivered
    {
        get
        {
            long? min = null;
            foreach (var o in Outputs)
            {
                lock (_warnings)
                    if (_shed.Contains(o.Rung.Name)) continue;
                if (o.LastDts is long dts) min = min is long m ? Math.Min(m, dts) : dts;
            }
            return min;
        }
    }

    public EncoderBackend Backend => _backends[0];

    /// <summary>The running ffmpeg's process id (tests kill it to prove supervision), or null between runs.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Raised with the rung name when ffmpeg restarted: that rung's next frames do not continue the previous ones.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public TranscodeStreamStatus Status
    {
        get
        {
            var p = _progress;
            lock (_warnings)
                return new TranscodeStreamStatus(_source.Name, Backend.Name, _active.Select(r => r.Name).ToArray(), _shed.ToArray(),
                    p.WindowSpeed ?? p.Speed, p.Fps, p.DroppedFrames, Restarts,
                    _reader.DroppedFrames, _warnings.ToArray());
        }
    }

    public void Start() => _run = Task.Run(() => SuperviseAsync(_stop.Token));

    /// <summary>Set when the last run ended at the source's drop: the next run starts fresh on the new publish (no replay).</summary>
    private bool _afterGap;

    /// <summary>Completes when the source ended and ffmpeg has drained (or was killed after the grace period).</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    private async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RestartLoop.RunAsync(RunAndJudgeAsync, new RestartBackoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(8)),
                (wait, verdict) => LogRestart(_source.Name, verdict.Reason!, wait.TotalMilliseconds), TimeProvider.System,
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, _source.Name);
        }
        finally
        {
            _reader.Dispose();
            foreach (var o in Outputs) o.Stream.Complete();
        }
    }

    /// <summary>One ffmpeg run, and what follows it: the end, a fresh start after a gap or a shed rung, or a backoff after a failure.</summary>
    private async Task<RunVerdict> RunAndJudgeAsync(CancellationToken cancellationToken)
    {
        if (_active.Count == 0) return RunVerdict.Stop;
        LeaveBackendThatDropsCaptions();
        long started = Environment.TickCount64;
        var outcome = await RunOnceAsync(_reader, cancellationToken).ConfigureAwait(false);
        if (outcome == RunOutcome.SourceEnded || cancellationToken.IsCancellationRequested) return RunVerdict.Stop;
        if (outcome == RunOutcome.Interrupted)
        {
            // The source's encoder dropped and ffmpeg drained: the next run waits for the reconnect (or the end of
            // the grace) and encodes the new publish from its first keyframe; nothing from before the gap is replayed.
            _input.ForgetReplay();
            _afterGap = true;
            LogInterrupted(_source.Name);
            return RunVerdict.RestartNow(resetBackoff: false);
        }

        Interlocked.Increment(ref _restarts);
        foreach (var o in Outputs) o.Generation++;
        if (outcome is RunOutcome.Shed or RunOutcome.CaptionsNeedAnotherBackend) return RunVerdict.RestartNow(resetBackoff: true);
        // A hardware encoder that fails (session limit, driver error) moves to the next back-end.
        if (Backend.IsHardware && _backends.Count > 1)
        {
            var failed = Backend;
            _backends.RemoveAt(0);
            Warn($"{failed.Name} failed mid-stream; continuing on {Backend.Name}");
            LogBackendFallback(_source.Name, failed.Name, Backend.Name);
        }
        return RunVerdict.Failed(TimeSpan.FromMilliseconds(Environment.TickCount64 - started), outcome.ToString());
    }

    /// <summary>
    /// A source that wrote no frame for this long has stopped sending: a working encoder sends video at 24 fps or more and
    /// audio about every 21 ms (the same reasoning as Ingest:TakeoverSilenceMilliseconds).
    /// </summary>
    internal static readonly TimeSpan SourceQuiet = TimeSpan.FromSeconds(1);

    private enum RunOutcome { SourceEnded, Exited, Hung, Shed, Interrupted, CaptionsNeedAnotherBackend }

    /// <summary>
    /// Captions before hardware: a source that carries A/53 captions is not encoded on a back-end that drops them
    /// (<see cref="EncoderBackend.KeepsCaptions"/>, VAAPI) while a later one keeps them (libx264 at the latest). The
    /// hub knows from the first captioned picture; the back-ends in front of the first that keeps captions are left.
    /// With none that can, the rungs go on without captions and the status says so once.
    /// </summary>
    private void LeaveBackendThatDropsCaptions()
    {
        if (!_source.HasCaptions || Backend.KeepsCaptions) return;
        int next = _backends.FindIndex(b => b.KeepsCaptions);
        if (next < 0)
        {
            ReportCaptionsLost();
            return;
        }
        var dropped = Backend;
        _backends.RemoveRange(0, next);
        Warn($"{dropped.Name} cannot keep the source's closed captions; encoding on {Backend.Name}");
        LogCaptionsBackend(_source.Name, dropped.Name, Backend.Name);
    }

    private bool _captionsLostReported;

    private void ReportCaptionsLost()
    {
        if (_captionsLostReported) return;
        _captionsLostReported = true;
        Warn($"the source carries closed captions and {Backend.Name} cannot keep them; its rungs have none");
        LogCaptionsLost(_source.Name, Backend.Name);
    }

    private async Task<RunOutcome> RunOnceAsync(LiveStreamReader reader, CancellationToken cancellationToken)
    {
        var rungs = _active.ToArray();
        var listeners = rungs.Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var l in listeners) l.Start(1);
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<SourceVideoPump.PumpEnd>? pumpTask = null;
        try
        {
            var urls = listeners.Select(l => $"tcp://127.0.0.1:{((IPEndPoint)l.LocalEndpoint).Port}").ToArray();
            var args = FfmpegCommand.Build(Backend, rungs, urls, _lowLatency);
            _progress = new FfmpegProgress();
            // Input ends with end of file on stdin (the FLV pipe): ffmpeg then flushes the rungs and exits.
            var launch = new ProcessLaunch(_settings.FfmpegPath, args) { Progress = _progress, OnStderrLine = line => LogFfmpeg(_source.Name, line) };
            await using var process = SupervisedProcess.Start(launch);
            _process = process;
            LogStarted(_source.Name, process.Id, Backend.Name,
                string.Join(",", rungs.Select(r => $"{r.Name}={r.Width}x{r.Height}@{r.VideoBitrate}")));

            long lastOutputTicks = Environment.TickCount64;
            bool sawOutput = false;
            var readers = new Task[rungs.Length];
            for (int i = 0; i < rungs.Length; i++)
            {
                var output = Outputs.First(o => o.Rung.Name == rungs[i].Name);
                var listener = listeners[i];
                readers[i] = Task.Run(async () =>
                {
                    using var client = await listener.AcceptTcpClientAsync(runCts.Token).ConfigureAwait(false);
                    await ReadRungAsync(client.GetStream(), output,
                        () => { Volatile.Write(ref lastOutputTicks, Environment.TickCount64); sawOutput = true; },
                        runCts.Token).ConfigureAwait(false);
                }, runCts.Token);
            }
            long? resumeAt = _afterGap ? null : RungsDelivered;
            _afterGap = false;
            pumpTask = _input.PumpAsync(reader, process.Stdin, resumeAt, runCts.Token);

            var exitTask = process.Exited;
            long slowSince = -1;
            while (true)
            {
                var done = await Task.WhenAny(exitTask, pumpTask, Task.Delay(250, cancellationToken)).ConfigureAwait(false);
                if (done == pumpTask)
                {
                    // The source ended or dropped (or the pipe broke): let ffmpeg finish the rungs, then stop it.
                    var end = pumpTask.IsCompletedSuccessfully ? pumpTask.Result : SourceVideoPump.PumpEnd.Broken;
                    // ffmpeg may still be working through a backlog (speed < 1): it is stuck only once it stops writing.
                    await process.StopAsync(_settings.StopGrace, () => Volatile.Read(ref lastOutputTicks)).ConfigureAwait(false);
                    await DrainAsync(readers).ConfigureAwait(false);
                    if (end == SourceVideoPump.PumpEnd.Gap)
                    {
                        // Every rung frame of the dropped publish is out: the packager closes each rung's segment here.
                        foreach (var o in Outputs.Where(o => rungs.Any(r => r.Name == o.Rung.Name))) o.Stream.MarkGap();
                        return RunOutcome.Interrupted;
                    }
                    return end == SourceVideoPump.PumpEnd.SourceEnded ? RunOutcome.SourceEnded : RunOutcome.Exited;
                }
                if (done == exitTask)
                {
                    LogExited(_source.Name, process.ExitCode);
                    await runCts.CancelAsync().ConfigureAwait(false);
                    await DrainAsync(readers).ConfigureAwait(false);
                    return RunOutcome.Exited;
                }
                // Captions appeared while a back-end that drops them runs: with one that keeps them allowed, the run is
                // restarted like a shed rung's (replaying from the source keyframe the rungs last reached) and moves to it.
                if (_source.HasCaptions && !Backend.KeepsCaptions)
                {
                    if (_backends.Exists(b => b.KeepsCaptions))
                    {
                        process.Kill();
                        await runCts.CancelAsync().ConfigureAwait(false);
                        await DrainAsync(readers).ConfigureAwait(false);
                        return RunOutcome.CaptionsNeedAnotherBackend;
                    }
                    ReportCaptionsLost();
                }
                long silentMs = Environment.TickCount64 - Volatile.Read(ref lastOutputTicks);
                var limit = sawOutput ? _settings.HangTimeout : _settings.StartTimeout;
                // While the source waits for its encoder to reconnect, or its encoder sends nothing over a connection that
                // stays open (a stalled uplink, a paused encoder), there is nothing to encode: silence is not a hang, and
                // ffmpeg's silence is counted from when frames come again. Killing it there cut every rung with a
                // discontinuity (a new DASH Period) on each pause of a few seconds, which dash.js did not play past.
                if (_source.IsReconnecting || _source.SilentFor > SourceQuiet) Volatile.Write(ref lastOutputTicks, Environment.TickCount64);
                else if (silentMs > limit.TotalMilliseconds)
                {
                    LogHung(_source.Name, silentMs);
                    process.Kill();
                    await runCts.CancelAsync().ConfigureAwait(false);
                    await DrainAsync(readers).ConfigureAwait(false);
                    return RunOutcome.Hung;
                }
                if (_progress.WindowSpeed is double speed && _active.Count > 1)
                {
                    if (speed >= _settings.ShedBelowSpeed) slowSince = -1;
                    else if (slowSince < 0) slowSince = Environment.TickCount64;
                    else if (Environment.TickCount64 - slowSince > _settings.ShedAfter.TotalMilliseconds)
                    {
                        var shed = _active[^1];
                        _active.RemoveAt(_active.Count - 1);
                        lock (_warnings) _shed.Add(shed.Name);
                        Warn($"shed {shed.Name}: encoding at {speed:0.00}x, below {_settings.ShedBelowSpeed:0.00}x");
                        LogShed(_source.Name, shed.Name, speed);
                        Outputs.First(o => o.Rung.Name == shed.Name).Stream.Complete();
                        process.Kill();
                        await runCts.CancelAsync().ConfigureAwait(false);
                        await DrainAsync(readers).ConfigureAwait(false);
                        return RunOutcome.Shed;
                    }
                }
            }
        }
        finally
        {
            await runCts.CancelAsync().ConfigureAwait(false);
            foreach (var l in listeners) l.Stop();
            // The replay list belongs to the pump: the next run may only start once this one's pump is done.
            if (pumpTask is not null) try { await pumpTask.ConfigureAwait(false); } catch (Exception) { }
            _process = null;
        }
    }

    private static async Task DrainAsync(Task[] readers)
    {
        try { await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception) { } // cancelled accepts and broken sockets after a crash are expected here
    }

    private async Task ReadRungAsync(Stream network, RungOutput output, Action onData, CancellationToken cancellationToken)
    {
        // A thread of its own with blocking reads, the rung's frames parsed and packaged on it (as RTMP ingest does).
        var pipe = BlockingReadPump.Start(network, $"rung-{output.Rung.Name}");
        var frames = new FlvDemuxer(output.Stream);
        var flv = new FlvStreamReader();
        while (true)
        {
            var result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumedTo = flv.Read(buffer, tag => OnRungTag(tag, frames, output, onData), out _);
            pipe.AdvanceTo(consumedTo, buffer.End);
            if (result.IsCompleted) break;
        }
        await pipe.CompleteAsync().ConfigureAwait(false);
    }

    private bool OnRungTag(FlvTag tag, FlvDemuxer frames, RungOutput output, Action onData)
    {
        if (tag.Type == FlvTagType.Video && tag.Data.Length > 1 && tag.Data[1] == 0) output.OnNewSequence();
        if (!frames.TryWrite(tag, out var error)) Warn($"{output.Rung.Name}: {error}");
        output.LastDts = frames.LastVideoDts;
        onData();
        return error is null;
    }

    private void Warn(string warning)
    {
        lock (_warnings)
        {
            _warnings.Add(warning);
            if (_warnings.Count > 20) _warnings.RemoveAt(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _process?.Kill();
        try { await Completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _reader.Dispose();
        _input.ForgetReplay();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Transcoding {Channel}: ffmpeg pid {Pid} on {Backend}, rungs {Rungs}")]
    private partial void LogStarted(string channel, int pid, string backend, string rungs);

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information,
        Message = "The encoder of {Channel} dropped; ffmpeg drained its renditions and waits for the reconnect")]
    private partial void LogInterrupted(string channel);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "ffmpeg for {Channel} exited with code {Code}")]
    private partial void LogExited(string channel, int code);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "ffmpeg for {Channel} produced nothing for {SilentMs} ms; killing it")]
    private partial void LogHung(string channel, long silentMs);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Restarting the transcoder of {Channel} ({Reason}) after {BackoffMs} ms")]
    private partial void LogRestart(string channel, string reason, double backoffMs);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Transcoder of {Channel}: {Failed} failed, falling back to {Next}")]
    private partial void LogBackendFallback(string channel, string failed, string next);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Transcoder of {Channel} sheds rung {Rung}: speed {Speed}x")]
    private partial void LogShed(string channel, string rung, double speed);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning,
        Message = "Transcoder of {Channel}: the source carries closed captions, which {Dropped} cannot keep; encoding on {Next}")]
    private partial void LogCaptionsBackend(string channel, string dropped, string next);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning,
        Message = "Transcoder of {Channel}: the source carries closed captions, which {Backend} cannot keep and no back-end allowed after it can; " +
            "the rungs have none")]
    private partial void LogCaptionsLost(string channel, string backend);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Error, Message = "Transcoder of {Channel} failed")]
    private partial void LogFailed(Exception exception, string channel);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Debug, Message = "ffmpeg[{Channel}]: {Line}")]
    private partial void LogFfmpeg(string channel, string line);
}
