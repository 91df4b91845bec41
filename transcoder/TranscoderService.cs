using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.Transcoder.Encoding;
using Broadcast.Transcoder.Ladder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Transcoder;

/// <summary>
/// Starts one <see cref="TranscodeSession"/> per published stream whose planned ladder has a transcoded rung.
/// The probe runs once at start. The packager asks <see cref="GetRenditionStreamsAsync"/> which extra renditions a
/// stream has (rendition name to the <see cref="LiveStream"/> carrying it), after it has seen the stream's tracks.
/// </summary>
public sealed partial class TranscoderService : IHostedService, ITranscoderStatus, IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly TranscodeOptions _options;
    private readonly IEncoderProbe _probe;
    private readonly ILadderOverride? _override;
    private readonly ILowLatencyPolicy? _lowLatency;
    private readonly TranscodeSessionSettings _settings;
    private readonly ILogger<TranscoderService> _logger;
    private readonly ConcurrentDictionary<LiveStream, TaskCompletionSource<IReadOnlyList<KeyValuePair<string, LiveStream>>>> _plans = new();
    private readonly ConcurrentDictionary<string, TranscodeSession> _sessions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private ProbeResult? _probeResult;
    private int _disposed;

    public TranscoderService(LiveStreamRegistry registry, TranscodeOptions options, IEncoderProbe probe, TranscodeSessionSettings settings,
        ILogger<TranscoderService> logger, ILadderOverride? ladderOverride = null, ILowLatencyPolicy? lowLatency = null)
    {
        _lowLatency = lowLatency;
        _registry = registry;
        _options = options;
        _probe = probe;
        _settings = settings;
        _logger = logger;
        _override = ladderOverride;
    }

    public bool Enabled => _options.Enabled;

    public string? Backend => _probeResult?.Selected.Name;

    public IReadOnlyList<ProbeAttempt> ProbeAttempts => _probeResult?.Attempts ?? [];

    public IReadOnlyList<TranscodeStreamStatus> Streams => _sessions.Values.Select(s => s.Status).ToArray();

    public TranscodeStreamStatus? Find(string channel) => _sessions.TryGetValue(channel, out var s) ? s.Status : null;

    /// <summary>The running session of a channel (tests kill its ffmpeg to prove supervision).</summary>
    public TranscodeSession? FindSession(string channel) => _sessions.GetValueOrDefault(channel);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return;
        var candidates = EncoderBackends.Candidates(_options);
        _probeResult = await HardwareProbe.SelectAsync(candidates, _probe, cancellationToken).ConfigureAwait(false);
        foreach (var a in _probeResult.Attempts) LogProbe(a.Backend, a.Works, a.Detail);
        LogSelected(_probeResult.Selected.Name);
        _registry.Published += OnPublished;
        foreach (var s in _registry.Active) OnPublished(s);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _registry.Published -= OnPublished;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_sessions.Values.Select(s => s.DisposeAsync().AsTask())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The transcoded renditions of <paramref name="source"/>, in ladder order, once planned (immediately empty when the
    /// transcoder is off or the stream needs none). Shape chosen so the packager can take it as a plain delegate.
    /// </summary>
    public async Task<IReadOnlyList<KeyValuePair<string, LiveStream>>> GetRenditionStreamsAsync(LiveStream source,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!_options.Enabled || !_plans.TryGetValue(source, out var plan)) return [];
        return await plan.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnPublished(LiveStream stream)
    {
        // Open the reader now so the first keyframe the packager sees is also ffmpeg's first frame: same cuts, same numbers.
        var reader = stream.OpenReader("transcoder", capacity: 1024);
        var plan = new TaskCompletionSource<IReadOnlyList<KeyValuePair<string, LiveStream>>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _plans[stream] = plan;
        stream.Completed += s =>
        {
            plan.TrySetResult([]);
            _ = Task.Delay(TimeSpan.FromSeconds(30)).ContinueWith(_ => _plans.TryRemove(s, out var _), TaskScheduler.Default);
        };
        _ = Task.Run(() => PlanAsync(stream, reader, plan));
    }

    private async Task PlanAsync(LiveStream stream, LiveStreamReader reader,
        TaskCompletionSource<IReadOnlyList<KeyValuePair<string, LiveStream>>> plan)
    {
        bool handedOver = false;
        try
        {
            // Wait for the first video frame without consuming frames (the hub's newest video time), then read the track the
            // hub announced. By that frame an encoder that sends its own ladder (multitrack) has announced every track.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (stream.LastVideoTime is null && !stream.IsCompleted && DateTime.UtcNow < deadline)
                await Task.Delay(20, _stopping.Token).ConfigureAwait(false);
            if (stream.Video is not { } video)
            {
                plan.TrySetResult([]);
                return;
            }
            // The encoder's ladder has made the rungs: transcoding its top track again would spend the CPU the encoder saved
            // and serve a ladder it did not choose.
            if (stream.TakeEncoderLadder() is { Count: > 0 } encoderLadder)
            {
                LogEncoderLadder(stream.Name, encoderLadder.Count + 1);
                plan.TrySetResult([]);
                return;
            }
            var ladder = _override?.LadderFor(stream) ?? _options.Ladder;
            var planned = LadderPlanner.Plan(video.Width, video.Height, video.Codec, ladder, _options.Passthrough);
            if (video.Codec != Codec.H264)
            {
                // Debian's ffmpeg 5.1 reads only legacy FLV codecs: HEVC (Enhanced RTMP) cannot reach its decoder.
                LogPassthroughOnly(stream.Name, video.Codec.ToString());
                plan.TrySetResult([]);
                return;
            }
            if (!planned.NeedsTranscoder || _probeResult is null)
            {
                plan.TrySetResult([]);
                return;
            }
            var backends = new List<EncoderBackend> { _probeResult.Selected };
            backends.AddRange(_probeResult.Fallbacks);
            bool lowLatency = _lowLatency is not null && await _lowLatency.IsLowLatencyAsync(stream, _stopping.Token).ConfigureAwait(false);
            var session = new TranscodeSession(stream, reader, planned.Rungs, backends, _settings, _logger, lowLatency);
            handedOver = true;
            _sessions[stream.Name] = session;
            session.Start();
            plan.TrySetResult(RenditionList(stream, planned.Passthrough, session.Outputs));
            await session.Completion.ConfigureAwait(false);
            _sessions.TryRemove(new KeyValuePair<string, TranscodeSession>(stream.Name, session));
            await session.DisposeAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            plan.TrySetResult([]);
        }
        catch (Exception ex)
        {
            LogPlanFailed(ex, stream.Name);
            plan.TrySetResult([]);
        }
        finally
        {
            if (!handedOver) reader.Dispose();
        }
    }

    /// <summary>
    /// The packager's view of the ladder: <c>source</c> (the published stream itself) first when it is the passthrough
    /// rung, then the transcoded rungs. Without the <c>source</c> entry the packager serves only the rungs' video.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, LiveStream>> RenditionList(LiveStream source, bool passthrough,
        IReadOnlyList<RungOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var list = new List<KeyValuePair<string, LiveStream>>(outputs.Count + 1);
        if (passthrough) list.Add(new KeyValuePair<string, LiveStream>(SourceRendition, source));
        list.AddRange(outputs.Select(o => new KeyValuePair<string, LiveStream>(o.Rung.Name, o.Stream)));
        return list;
    }

    /// <summary>The packager's name for the source's own video (its <c>StoreKeys.SourceRendition</c>; no reference on purpose).</summary>
    public const string SourceRendition = "source";

    public async ValueTask DisposeAsync()
    {
        // Registered both as itself and as IHostedService: the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _registry.Published -= OnPublished;
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var s in _sessions.Values) await s.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Encoder probe {Backend}: works={Works} ({Detail})")]
    private partial void LogProbe(string backend, bool works, string detail);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Transcoder back-end: {Backend}")]
    private partial void LogSelected(string backend);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning,
        Message = "{Channel}: ffmpeg cannot decode {Codec} from FLV here; serving the source only (passthrough)")]
    private partial void LogPassthroughOnly(string channel, string codec);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information,
        Message = "{Channel}: the encoder sends its own ladder of {Tracks} video tracks; no transcoding")]
    private partial void LogEncoderLadder(string channel, int tracks);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Planning the transcoder of {Channel} failed; serving the source only")]
    private partial void LogPlanFailed(Exception exception, string channel);
}
