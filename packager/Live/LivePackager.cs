using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Live;

/// <summary>
/// Packages every published stream: subscribes to <see cref="LiveStreamRegistry.Published"/>, opens a reader,
/// waits until it knows which tracks the stream carries, then writes the source video (passthrough), the transcoded
/// rungs from <see cref="IRenditionSource"/> and the audio as CMAF with HLS and DASH manifests. On unpublish the
/// manifests are finalised.
/// </summary>
public sealed partial class LivePackager : IHostedService, IPackagerStatus, IManifestNotifications, IAsyncDisposable, IDisposable
{
    /// <summary>Frames held while deciding whether a stream has audio, video or both.</summary>
    private const int ProbeMaxFrames = 300;

    private readonly LiveStreamRegistry _registry;
    private readonly ISegmentStore _store;
    private readonly IRecordingPolicy _recording;
    private readonly PackagerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LivePackager> _logger;
    private readonly IRenditionSource? _renditions;
    private readonly ILowLatencyPolicy? _lowLatency;
    private readonly ConcurrentDictionary<string, StreamPackager> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamPackagerStatus> _finished = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private readonly ConcurrentDictionary<Task, byte> _packaging = new();
    // Per stream name: packagings under way, from the publish (before the first frame is probed) until the final
    // manifests are written and StreamFinished has been raised.
    private readonly ConcurrentDictionary<string, int> _handling = new(StringComparer.Ordinal);
    // Per channel: the last window of its previous unrecorded broadcast, deleted once the next broadcast replaced its playlists.
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _leftovers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _started;
    private int _disposed;

    public LivePackager(LiveStreamRegistry registry, ISegmentStore store, IRecordingPolicy recording, IOptions<PackagerOptions> options,
        TimeProvider time, ILogger<LivePackager> logger, IRenditionSource? renditions = null, ILowLatencyPolicy? lowLatency = null)
    {
        _lowLatency = lowLatency;
        _renditions = renditions;
        _registry = registry;
        _store = store;
        _recording = recording;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public event Action<ManifestUpdated>? ManifestUpdated;

    /// <summary>Raised when an ad break of a stream packaged here begins (its first segment is stored) and when it ends.</summary>
    public event Action<string, AdBreak>? BreakChanged;

    /// <summary>Raised when a stream's packaging has finished (final manifests written).</summary>
    public event Action<StreamPackagerStatus>? StreamFinished;

    public IReadOnlyList<StreamPackagerStatus> Streams =>
        _active.Values.Select(p => p.Status).Concat(_finished.Values.Where(f => !_active.ContainsKey(f.Channel))).ToArray();

    public StreamPackagerStatus? Find(string channel) =>
        _active.TryGetValue(channel, out var p) ? p.Status : _finished.GetValueOrDefault(channel);

    /// <summary>
    /// True while a broadcast of <paramref name="channel"/> is being packaged here: from its publish until its final
    /// manifests are written, including the seconds after the publisher left (the store still gets objects then).
    /// </summary>
    public bool IsPackaging(string channel) => _handling.TryGetValue(channel, out int n) && n > 0;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return Task.CompletedTask;
        _registry.Published += OnPublished;
        foreach (var s in _registry.Active) OnPublished(s);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Shutdown: ingest stops first (it is registered later), which ends every live stream; each packaging then writes
    /// its final manifests (ENDLIST, static MPD) as on an unpublish. That gets up to <see cref="ShutdownDrain"/> (and the
    /// host's shutdown timeout); a packaging still running after it is cancelled and still finalises what it stored.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _registry.Published -= OnPublished;
        try
        {
            await Task.WhenAll(_packaging.Keys).WaitAsync(ShutdownDrain, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) { }
        catch (OperationCanceledException) { }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_tasks.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long shutdown waits for live broadcasts to end on their own before cancelling their packaging.</summary>
    public static TimeSpan ShutdownDrain { get; } = TimeSpan.FromSeconds(15);

    /// <summary>A cancelled packaging still gets this long to write its final manifests.</summary>
    private static readonly TimeSpan FinaliseBound = TimeSpan.FromSeconds(5);

    private void OnPublished(LiveStream stream)
    {
        // Open the reader now, on the publisher's thread, so no frame published from here on is missed.
        var reader = stream.OpenReader("packager", capacity: 4096, consumeOnWriterThread: true);
        string name = stream.Name;
        _handling.AddOrUpdate(name, 1, static (_, n) => n + 1);
        var task = Task.Run(() => PackageAsync(stream, reader, _stopping.Token));
        _tasks.TryAdd(task, 0);
        _packaging.TryAdd(task, 0);
        _ = task.ContinueWith(t =>
        {
            _tasks.TryRemove(t, out _);
            _packaging.TryRemove(t, out _);
            if (_handling.AddOrUpdate(name, 0, static (_, n) => n - 1) <= 0) _handling.TryRemove(new KeyValuePair<string, int>(name, 0));
        }, TaskScheduler.Default);
    }

    private async Task PackageAsync(LiveStream stream, LiveStreamReader reader, CancellationToken cancellationToken)
    {
        using var _ = reader;
        StreamPackager? packager = null;
        Action<LiveStream, SpliceCue>? cueHandler = null;
        var probe = new List<MediaFrame>();
        try
        {
            if (!StoreKeys.IsValidName(stream.Name))
            {
                LogInvalidName(stream.Name);
                return;
            }
            bool record = await _recording.ShouldRecordAsync(stream, cancellationToken).ConfigureAwait(false);
            bool lowLatency = _lowLatency is not null && await _lowLatency.IsLowLatencyAsync(stream, cancellationToken).ConfigureAwait(false);

            // Learn the tracks from the frames themselves: hold frames until both kinds were seen, or a few
            // seconds of one kind passed without the other (an audio-only or video-only stream).
            bool sawVideo = false, sawAudio = false;
            long? firstMs = null;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
            {
                probe.Add(frame);
                sawVideo |= frame.Kind == MediaKind.Video;
                sawAudio |= IsPackageableAudio(frame);
                long ms = Timescales.Rescale(frame.Dts, frame.Track.Timescale, 1000);
                firstMs ??= ms;
                if ((sawVideo && sawAudio) || probe.Count >= ProbeMaxFrames || ms - firstMs >= 3000) break;
            }
            if (!sawVideo && !sawAudio) return;

            // Transcoded rungs (if any) are more video renditions of the same StreamPackager: same cut rule, same numbers.
            IReadOnlyList<KeyValuePair<string, LiveStream>> extras = [];
            if (sawVideo && _renditions is not null)
            {
                try
                {
                    extras = await _renditions.GetAsync(stream, cancellationToken).WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    LogNoRenditions(stream.Name);
                }
            }
            // The list is the video ladder: a `source` entry is the passthrough, and a ladder without one
            // (Transcode:Passthrough=false) serves only the transcoded rungs; the source then gives only its audio.
            bool passthrough = extras.Count == 0 || extras.Any(e => e.Key == StoreKeys.SourceRendition);
            extras = extras.Where(e => StoreKeys.IsValidName(e.Key) && e.Key != StoreKeys.SourceRendition && e.Key != StoreKeys.AudioRendition).ToArray();
            if (extras.Count == 0) passthrough = true;
            int first = passthrough ? 1 : 0;
            string[] videoNames = !sawVideo ? [] : passthrough ? [StoreKeys.SourceRendition, .. extras.Select(e => e.Key)] : [.. extras.Select(e => e.Key)];
            packager = new StreamPackager(stream.Name, _store, _options, _time, record,
                videoNames, sawAudio ? StoreKeys.AudioRendition : null, lowLatency: lowLatency,
                captions: sawVideo && _options.Captions == CaptionDeclaration.Always);
            packager.ManifestUpdated += m => ManifestUpdated?.Invoke(m);
            // The rungs' readers open here, before the stream shows as packaging: from then on no rung frame is missed
            // (earlier ones come from the rung's cached GOP).
            var current = packager;
            var extraTasks = extras.Select((e, i) =>
            {
                var rungReader = e.Value.OpenReader("packager", capacity: 4096, consumeOnWriterThread: true);
                return Task.Run(() => PackageRenditionAsync(current, stream, i + first, rungReader, cancellationToken));
            }).ToArray();
            _active[stream.Name] = packager;
            // Ad breaks (the breaks API, the encoder's cue points) reach the packaging through the hub, beside the frames.
            void OnCue(LiveStream s, SpliceCue cue) => StartInsertBreak(current, cue, cancellationToken);
            cueHandler = OnCue;
            stream.CueInserted += cueHandler;
            packager.BreakChanged += b =>
            {
                if (b.EndNumber is null) LogBreakStarted(stream.Name, b.EventId, b.StartNumber, b.StartDate);
                else LogBreakEnded(stream.Name, b.EventId, b.EndNumber.Value, b.Duration!.Value * 1000 / b.Timescale);
                BreakChanged?.Invoke(stream.Name, b);
            };
            if (_leftovers.TryRemove(stream.Name, out var leftovers)) ScheduleLeftoverDeletes(stream.Name, leftovers);
            LogStarted(stream.Name, packager.BroadcastId, sawVideo, sawAudio, record);
            if (lowLatency) LogLowLatency(stream.Name, _options.PartSeconds);
            if (sawVideo && !passthrough) LogNoPassthrough(stream.Name, string.Join(", ", videoNames));

            bool sourceVideo = sawVideo && passthrough;
            var join = new JoinState();
            foreach (var frame in probe.ToArray())
            {
                probe.Remove(frame);
                await DeclareCaptionsIfSeenAsync(packager, stream, sawVideo, cancellationToken).ConfigureAwait(false);
                await JoinIfNewEpochAsync(packager, frame, join, sourceVideo, cancellationToken).ConfigureAwait(false);
                await PushAsync(packager, frame, sourceVideo, cancellationToken).ConfigureAwait(false);
            }
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap)
                {
                    // The publisher dropped: what the source video and the audio hold is stored now, not at the join.
                    // Without passthrough the audio closes at the leading rung's end, once its ffmpeg has drained too.
                    if (!join.Interrupted) await packager.InterruptAsync(sourceVideo ? 0 : -1, cancellationToken).ConfigureAwait(false);
                    join.Interrupted = true;
                    continue;
                }
                if (read.Frame is not { } frame) break;
                await DeclareCaptionsIfSeenAsync(packager, stream, sawVideo, cancellationToken).ConfigureAwait(false);
                await JoinIfNewEpochAsync(packager, frame, join, sourceVideo, cancellationToken).ConfigureAwait(false);
                await PushAsync(packager, frame, sourceVideo, cancellationToken).ConfigureAwait(false);
            }

            // The rungs end after the source once the transcoder has drained its backlog; never wait for them forever.
            try { await Task.WhenAll(extraTasks).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false); }
            catch (TimeoutException) { LogNoRenditions(stream.Name); }
            await packager.CompleteAsync(cancellationToken).ConfigureAwait(false);
            var status = packager.Status;
            _finished[stream.Name] = status;
            LogFinished(stream.Name, packager.BroadcastId, status.SegmentsWritten);
            StreamFinished?.Invoke(status);
            ScheduleFinalDeletes(packager);
            _leftovers[stream.Name] = packager.UnscheduledSegmentKeys();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown before the stream ended: what was stored still gets ended manifests, so no player waits for
            // segments that will never come.
            if (packager is not null) await FinaliseOnShutdownAsync(packager).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogFailed(ex, stream.Name);
        }
        finally
        {
            if (cueHandler is not null) stream.CueInserted -= cueHandler;
            foreach (var f in probe) f.Release();
            if (packager is not null)
            {
                _active.TryRemove(new KeyValuePair<string, StreamPackager>(stream.Name, packager));
                await packager.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The hub raises cues on the caller's thread (the API request, the RTMP read loop): never wait for the packager there.</summary>
    private void StartInsertBreak(StreamPackager packager, SpliceCue cue, CancellationToken cancellationToken) =>
        _ = InsertBreakAsync(packager, cue, cancellationToken);

    /// <summary>
    /// Asks for an ad break on <paramref name="channel"/>'s broadcast packaged here (see <see cref="StreamPackager.InsertBreakAsync"/>):
    /// null when nothing of that name is packaged on this node, false when another break waits or runs.
    /// <see cref="BreakChanged"/> says when it begins.
    /// </summary>
    public async Task<bool?> InsertBreakAsync(string channel, SpliceCue cue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cue);
        if (!_active.TryGetValue(channel, out var packager)) return null;
        return await InsertBreakAsync(packager, cue, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> InsertBreakAsync(StreamPackager packager, SpliceCue cue, CancellationToken cancellationToken)
    {
        try
        {
            if (await packager.InsertBreakAsync(cue, cancellationToken).ConfigureAwait(false))
            {
                LogBreakAsked(packager.Channel, cue.EventId, cue.Duration * 1000 / Timescales.Video, cue.Source);
                return true;
            }
            LogBreakRefused(packager.Channel, cue.EventId, cue.Source);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, packager.Channel);
        }
        return false;
    }

    /// <summary>
    /// Feeds one transcoded rendition. After a transcoder restart (a new sequence header, i.e. a new track instance)
    /// frames are dropped until a keyframe later than the last frame packaged, so the rendition never goes back in
    /// time and never continues with frames whose references were in the previous encoder run. A rendition that ends
    /// while its source is still live (the transcoder shed it: the machine cannot keep up) is retired: its playlist
    /// ends and the master playlist and MPD stop offering it.
    /// </summary>
    private async Task PackageRenditionAsync(StreamPackager packager, LiveStream source, int index, LiveStreamReader reader, CancellationToken cancellationToken)
    {
        using var _ = reader;
        var rendition = reader.Stream;
        MediaTrack? track = null;
        long lastDts = long.MinValue;
        bool resync = false;
        try
        {
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap)
                {
                    // The source's publisher dropped and this rung's ffmpeg drained: close its segment at its last frame,
                    // so every rendition's boundary stays at the drop and the join.
                    await packager.InterruptRenditionAsync(index, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (read.Frame is not { } frame) break;
                if (frame.Kind != MediaKind.Video) { frame.Release(); continue; }
                if (track is not null && !ReferenceEquals(frame.Track, track)) resync = true;
                track = frame.Track;
                if (resync)
                {
                    if (!frame.IsKeyframe || frame.Dts <= lastDts) { frame.Release(); continue; }
                    resync = false;
                    await packager.MarkDiscontinuityAsync(index, cancellationToken).ConfigureAwait(false);
                }
                else if (frame.Dts < lastDts) { frame.Release(); continue; }
                lastDts = frame.Dts;
                await packager.PushVideoAsync(index, frame, cancellationToken).ConfigureAwait(false);
            }
            // The source completes before its rungs drain, so a rung that ends first was stopped on its own.
            // The leading rendition (the top rung without passthrough) times audio: it stays listed, its segments just stop.
            if (!source.IsCompleted && index > 0 && await packager.RetireVideoAsync(index, cancellationToken).ConfigureAwait(false))
                LogRetired(source.Name, rendition.Name);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, rendition.Name);
        }
    }

    /// <summary>
    /// Captions: the hub notes A/53 captions in the source's video as its frames arrive (<see cref="LiveStream.HasCaptions"/>).
    /// Caption inserters send cc_data with every picture, so with <see cref="CaptionDeclaration.Detect"/> the flag is
    /// normally up within the first frames, before the master playlist (written once every rendition has its first
    /// segment); a service that starts later gets the master rewritten. The check per frame is one volatile read.
    /// </summary>
    private async Task DeclareCaptionsIfSeenAsync(StreamPackager packager, LiveStream stream, bool sawVideo, CancellationToken cancellationToken)
    {
        if (!sawVideo || packager.Captions || _options.Captions != CaptionDeclaration.Detect || !stream.HasCaptions) return;
        await packager.DeclareCaptionsAsync(cancellationToken).ConfigureAwait(false);
        LogCaptions(stream.Name, packager.BroadcastId);
    }

    /// <summary>Where the source reader is: the publish epoch it packages, and whether the drop before the next one was handled.</summary>
    private sealed class JoinState
    {
        public int Epoch;
        public bool Interrupted;
    }

    /// <summary>
    /// A frame of a new publish (the encoder reconnected within the grace period): the broadcast continues after a
    /// discontinuity. Segments were already closed at the drop unless that gap was missed (a reader that fell behind).
    /// </summary>
    private async Task JoinIfNewEpochAsync(StreamPackager packager, MediaFrame frame, JoinState join, bool sourceVideo, CancellationToken cancellationToken)
    {
        if (frame.Epoch == join.Epoch) return;
        if (!join.Interrupted) await packager.JoinAsync(sourceVideo ? 0 : -1, cancellationToken).ConfigureAwait(false);
        join.Interrupted = false;
        join.Epoch = frame.Epoch;
        LogJoined(packager.Channel, packager.BroadcastId, frame.Epoch);
    }

    private static Task PushAsync(StreamPackager packager, MediaFrame frame, bool sourceVideo, CancellationToken cancellationToken)
    {
        if (frame.Kind == MediaKind.Video)
        {
            if (sourceVideo) return packager.PushVideoAsync(0, frame, cancellationToken);
            // Video appeared after the stream was set up audio-only, or the source's video is not served (no passthrough).
            frame.Release();
            return Task.CompletedTask;
        }
        if (!IsPackageableAudio(frame))
        {
            // CMAF here carries AAC only (CmafWriter): other audio would fail the whole broadcast's init segment.
            // Ingest accepts only AAC today; a future non-AAC source is to be encoded to AAC by the transcoder.
            frame.Release();
            return Task.CompletedTask;
        }
        return packager.PushAudioAsync(frame, cancellationToken);
    }

    private static bool IsPackageableAudio(MediaFrame frame) => frame.Kind == MediaKind.Audio && frame.Track.Codec == Codec.Aac;

    private async Task FinaliseOnShutdownAsync(StreamPackager packager)
    {
        using var bound = new CancellationTokenSource(FinaliseBound);
        try
        {
            await packager.CompleteAsync(bound.Token).ConfigureAwait(false);
            LogFinished(packager.Channel, packager.BroadcastId, packager.Status.SegmentsWritten);
        }
        catch (Exception ex)
        {
            LogFailed(ex, packager.Channel);
        }
    }

    /// <summary>Out-of-window segments of an ended, unrecorded broadcast still go after their grace period.</summary>
    private void ScheduleFinalDeletes(StreamPackager packager)
    {
        if (packager.LastDeleteDue is not DateTimeOffset due) return;
        var delay = due - _time.GetUtcNow();
        var task = Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero) await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                await packager.RunDueDeletesAsync(CancellationToken.None, all: true).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { }
            catch (Exception ex) { LogFailed(ex, packager.Channel); }
        });
        _tasks.TryAdd(task, 0);
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// A new broadcast of <paramref name="channel"/> started: the previous one's last window leaves the store after the
    /// grace period (its ended playlist is replaced by then). Without this every unrecorded broadcast left its last
    /// window on disk and in the origin's cache for good (bench/soak.sh found it: memory grew with each reconnect).
    /// </summary>
    private void ScheduleLeftoverDeletes(string channel, IReadOnlyList<string> keys)
    {
        if (keys.Count == 0) return;
        var task = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(_options.DeleteGraceSeconds), _time, _stopping.Token).ConfigureAwait(false);
                await _store.DeleteAsync(keys, CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { }
            catch (Exception ex) { LogFailed(ex, channel); }
        });
        _tasks.TryAdd(task, 0);
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Synchronous disposal for containers that dispose synchronously: stops the background work and waits for it.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _registry.Published -= OnPublished;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_tasks.Keys).ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Packaging {Channel} as broadcast {BroadcastId} (video {Video}, audio {Audio}, recording {Recording})")]
    private partial void LogStarted(string channel, string broadcastId, bool video, bool audio, bool recording);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Finished packaging {Channel} broadcast {BroadcastId}: {Segments} segments")]
    private partial void LogFinished(string channel, string broadcastId, long segments);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Packaging {Channel} failed")]
    private partial void LogFailed(Exception exception, string channel);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Transcoded renditions of {Channel} did not arrive in time; packaging without them")]
    private partial void LogNoRenditions(string channel);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "{Channel}: passthrough off, the source's video is not packaged; video renditions {Renditions}")]
    private partial void LogNoPassthrough(string channel, string renditions);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Rendition {Rendition} of {Channel} stopped while the stream goes on (shed by the transcoder); removed from the master playlist and the MPD")]
    private partial void LogRetired(string channel, string rendition);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "{Channel}: the encoder reconnected; broadcast {BroadcastId} continues after a discontinuity (join {Join})")]
    private partial void LogJoined(string channel, string broadcastId, int join);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "{Channel}: low latency on, parts of {PartSeconds} s (LL-HLS, LL-DASH)")]
    private partial void LogLowLatency(string channel, decimal partSeconds);

    [LoggerMessage(EventId = 4040, Level = LogLevel.Information, Message = "{Channel}: CTA-608/708 captions found in the video (A/53 SEI); broadcast {BroadcastId} declares them in the master playlist and the MPD")]
    private partial void LogCaptions(string channel, string broadcastId);

    [LoggerMessage(EventId = 4030, Level = LogLevel.Information, Message = "{Channel}: ad break {SpliceEventId} of {DurationMs} ms asked for ({Source}); it begins at the next segment boundary")]
    private partial void LogBreakAsked(string channel, uint spliceEventId, long durationMs, string source);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Warning, Message = "{Channel}: ad break {SpliceEventId} ({Source}) refused: another break is waiting or running, or the broadcast ended")]
    private partial void LogBreakRefused(string channel, uint spliceEventId, string source);

    [LoggerMessage(EventId = 4032, Level = LogLevel.Information, Message = "{Channel}: ad break {SpliceEventId} begins with segment {Number} at {StartDate}")]
    private partial void LogBreakStarted(string channel, uint spliceEventId, long number, DateTimeOffset startDate);

    [LoggerMessage(EventId = 4033, Level = LogLevel.Information, Message = "{Channel}: ad break {SpliceEventId} ends at segment {Number} after {DurationMs} ms")]
    private partial void LogBreakEnded(string channel, uint spliceEventId, long number, long durationMs);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Stream name {Channel} cannot be a storage key; not packaged")]
    private partial void LogInvalidName(string channel);
}
