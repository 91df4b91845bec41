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
public sealed class LivePackager : IHostedService, IPackagerStatus, IManifestNotifications, IAsyncDisposable, IDisposable
{
    /// <summary>Frames held while deciding whether a stream has audio, video or both.</summary>
    private const int ProbeMaxFrames = 300;

    private readonly LiveStreamRegistry _registry;
    private readonly ISegmentStore _store;
    private readonly BroadcastPolicies _policies;
    private readonly PackagerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LivePackager> _logger;
    private readonly IRenditionSource? _renditions;
    private readonly IRetentionHold _hold;
    private readonly IAudioTrackNames? _audioTrackNames;
    private readonly ConcurrentDictionary<string, StreamPackager> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamPackagerStatus> _finished = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private readonly ConcurrentDictionary<Task, byte> _packaging = new();
    // Per stream name: packagings under way, from the publish (before the first frame is probed) until the final
    // manifests are written and StreamFinished has been raised.
    private readonly ConcurrentDictionary<string, int> _handling = new(StringComparer.Ordinal);
    // Per channel: the last window of its previous unrecorded broadcast, deleted once the next broadcast replaced its playlists.
    // Under its own lock with _active's hand-over: the next broadcast may start while the previous one still writes its end.
    private readonly Dictionary<string, Leftovers> _leftovers = new(StringComparer.Ordinal);
    private readonly BroadcastContinuations _continuations;
    private readonly CancellationTokenSource _stopping = new();
    private int _started;
    private int _disposed;

    public LivePackager(LiveStreamRegistry registry, ISegmentStore store, IRecordingPolicy recording, IOptions<PackagerOptions> options,
        TimeProvider time, ILogger<LivePackager> logger, IRenditionSource? renditions = null, ILowLatencyPolicy? lowLatency = null,
        IRewindPolicy? rewind = null, IRetentionHold? hold = null, IAudioTrackNames? audioTrackNames = null,
        IContentProtectionPolicy? protection = null)
    {
        _audioTrackNames = audioTrackNames;
        _hold = hold ?? new NoRetentionHold();
        _renditions = renditions;
        _registry = registry;
        _store = store;
        _policies = new BroadcastPolicies(recording, lowLatency, rewind, protection, options.Value);
        _options = options.Value;
        _time = time;
        _logger = logger;
        _continuations = new BroadcastContinuations(store, time, logger);
    }

    public event Action<ManifestUpdated>? ManifestUpdated;

    /// <summary>Raised when an ad break of a stream packaged here begins (its first segment is stored) and when it ends.</summary>
    public event Action<string, AdBreak>? BreakChanged;

    /// <summary>
    /// Raised when a stream's packaging has finished (final manifests written), with what its recording holds when it
    /// was recorded (<see cref="StreamPackager.Recorded"/>).
    /// </summary>
    public event Action<BroadcastFinished>? StreamFinished;

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

    /// <summary>
    /// A publish of <paramref name="channel"/> is about to start here (its key was accepted and, with several ingest
    /// nodes, this node holds the channel's lease): when the store holds the live state of a broadcast of that channel
    /// that did not end (its node died, no ENDLIST) and whose media ended less than <paramref name="grace"/> ago, the
    /// publish continues it (<see cref="LiveStream.TryContinueAfter"/>: same broadcast id, numbers on, one
    /// discontinuity). Returns that broadcast's id, or null: nothing to continue, too old, ended, or a state that cannot
    /// be read (logged; the publish then starts a new broadcast). Never throws for what the store holds.
    /// </summary>
    public Task<string?> PrepareContinuationAsync(string channel, TimeSpan grace, CancellationToken cancellationToken) =>
        _continuations.PrepareAsync(channel, grace, IsPackaging, cancellationToken);

    private void OnPublished(LiveStream stream)
    {
        // Open the reader now, on the publisher's thread, so no frame published from here on is missed.
        var reader = stream.OpenReader("packager", capacity: 4096, consumeOnWriterThread: true);
        string name = stream.Name;
        var continues = _continuations.Take(stream);
        _handling.AddOrUpdate(name, 1, static (_, n) => n + 1);
        var task = Task.Run(() => PackageAsync(stream, reader, continues, _stopping.Token));
        _tasks.TryAdd(task, 0);
        _packaging.TryAdd(task, 0);
        _ = task.ContinueWith(t =>
        {
            _tasks.TryRemove(t, out _);
            _packaging.TryRemove(t, out _);
            if (_handling.AddOrUpdate(name, 0, static (_, n) => n - 1) <= 0) _handling.TryRemove(new KeyValuePair<string, int>(name, 0));
        }, TaskScheduler.Default);
    }

    private async Task PackageAsync(LiveStream stream, LiveStreamReader reader, BroadcastContinuation? continues, CancellationToken cancellationToken)
    {
        using var _ = reader;
        StreamPackager? packager = null;
        Action<LiveStream, SpliceCue>? cueHandler = null;
        var probe = new List<MediaFrame>();
        try
        {
            if (!StoreKeys.IsValidName(stream.Name))
            {
                _logger.LogInvalidName(stream.Name);
                return;
            }
            var settings = await _policies.DecideAsync(stream, continues, cancellationToken).ConfigureAwait(false);
            bool record = settings.Record, lowLatency = settings.LowLatency;

            // Learn the tracks from the frames themselves: hold frames until both kinds were seen, or a few
            // seconds of one kind passed without the other (an audio-only or video-only stream).
            bool sawVideo = false, sawAudio = false;
            long? firstMs = null;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
            {
                probe.Add(frame);
                sawVideo |= frame.Kind == MediaKind.Video;
                sawAudio |= BroadcastFeed.IsPackageableAudio(frame);
                long ms = Timescales.Rescale(frame.Dts, frame.Track.Timescale, 1000);
                firstMs ??= ms;
                // An encoder's alternate audio tracks start a PES or two after the first: wait for them too (same bounds).
                bool alternatesStarted = stream.AlternateAudioTracks.All(t => t.Hub.Audio is not null);
                if ((sawVideo && sawAudio && alternatesStarted) || probe.Count >= ProbeMaxFrames || ms - firstMs >= 3000) break;
            }
            if (!sawVideo && !sawAudio) return;

            // Transcoded rungs (if any) are more video renditions of the same StreamPackager: same cut rule, same numbers.
            IReadOnlyList<KeyValuePair<string, LiveStream>> extras = [];
            // An encoder that sends its own ladder (multitrack) gives every rung: no transcoder runs for it (see TranscoderService).
            var encoderLadder = sawVideo ? stream.TakeEncoderLadder() : [];
            if (encoderLadder.Count > 0)
            {
                extras = [new(StoreKeys.SourceRendition, stream), .. encoderLadder.Select(r => new KeyValuePair<string, LiveStream>(StoreKeys.EncoderTrackRendition(r.Key), r.Value))];
                _logger.LogEncoderLadder(stream.Name, encoderLadder.Count + 1);
            }
            else if (sawVideo && _renditions is not null)
            {
                try
                {
                    extras = await _renditions.GetAsync(stream, cancellationToken)
                        .WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _logger.LogNoRenditions(stream.Name);
                }
            }
            // The list is the video ladder: a `source` entry is the passthrough, and a ladder without one
            // (Transcode:Passthrough=false) serves only the transcoded rungs; the source then gives only its audio.
            bool passthrough = extras.Count == 0 || extras.Any(e => e.Key == StoreKeys.SourceRendition);
            extras = extras.Where(e => StoreKeys.IsValidName(e.Key) && e.Key != StoreKeys.SourceRendition && e.Key != StoreKeys.AudioRendition)
                .ToArray();
            if (extras.Count == 0) passthrough = true;
            int first = passthrough ? 1 : 0;
            string[] videoNames = !sawVideo ? [] : passthrough ? [StoreKeys.SourceRendition, .. extras.Select(e => e.Key)]
                : [.. extras.Select(e => e.Key)];
            // The encoder's other audio tracks (languages, a description) are set now too: a master cannot gain a rendition.
            var alternateAudio = stream.TakeAlternateAudio();
            if (!sawAudio) alternateAudio = [];
            // A track the encoder left untagged takes the channel's name for it (entry 0 names the default track).
            var named = _audioTrackNames is null || !sawAudio ? []
                : await _audioTrackNames.AudioTrackNamesAsync(stream, cancellationToken).ConfigureAwait(false);
            var audioLabel = stream.AudioLabel.NamedBy(named.ElementAtOrDefault(0));
            alternateAudio = alternateAudio.Select((a, i) => a with { Label = a.Label.NamedBy(named.ElementAtOrDefault(i + 1)) }).ToArray();
            var audioNames = AudioRenditionLabel.RenditionNames(StoreKeys.AudioRendition, alternateAudio.Select(a => a.Label).ToArray());
            packager = new StreamPackager(settings with
            {
                VideoRenditions = videoNames, AudioRendition = sawAudio ? StoreKeys.AudioRendition : null, AudioLabel = audioLabel,
                AlternateAudio = alternateAudio.Select((a, i) => new AlternateAudioRendition(audioNames[i + 1], a.Label)).ToArray(),
                Captions = sawVideo && _options.Captions == CaptionDeclaration.Always,
            }, _store, _options, _time, _hold);
            packager.ManifestUpdated += m => ManifestUpdated?.Invoke(m);
            // The rungs' readers open here, before the stream shows as packaging: from then on no rung frame is missed
            // (earlier ones come from the rung's cached GOP).
            var current = packager;
            var extraTasks = extras.Select((e, i) =>
            {
                var rungReader = e.Value.OpenReader("packager", capacity: 4096, consumeOnWriterThread: true);
                return Task.Run(() => BroadcastFeed.FeedRenditionAsync(current, stream, i + first, rungReader, _logger, cancellationToken));
            }).Concat(alternateAudio.Select((a, i) =>
            {
                var audioReader = a.Hub.OpenReader("packager", capacity: 4096, consumeOnWriterThread: true);
                return Task.Run(() => BroadcastFeed.FeedAlternateAudioAsync(current, i + 1, audioReader, _logger, cancellationToken));
            })).ToArray();
            if (alternateAudio.Count > 0)
                _logger.LogAlternateAudio(stream.Name, string.Join(", ", alternateAudio.Select((a, i) => $"{audioNames[i + 1]} ({a.Label})")));
            _active[stream.Name] = packager;
            // Ad breaks (the breaks API, the encoder's cue points) reach the packaging through the hub, beside the frames.
            void OnCue(LiveStream s, SpliceCue cue) => StartInsertBreak(current, cue, cancellationToken);
            cueHandler = OnCue;
            stream.CueInserted += cueHandler;
            packager.BreakChanged += b =>
            {
                if (b.EndNumber is null) _logger.LogBreakStarted(stream.Name, b.EventId, b.StartNumber, b.StartDate);
                else _logger.LogBreakEnded(stream.Name, b.EventId, b.EndNumber.Value, b.Duration!.Value * 1000 / b.Timescale);
                BreakChanged?.Invoke(stream.Name, b);
            };
            TakeLeftovers(stream.Name);
            if (continues is not null) _logger.LogContinued(stream.Name, packager.BroadcastId, continues.FirstNumber);
            else _logger.LogStarted(stream.Name, packager.BroadcastId, sawVideo, sawAudio, record);
            if (lowLatency) _logger.LogLowLatency(stream.Name, _options.PartSeconds);
            if (sawVideo && !passthrough) _logger.LogNoPassthrough(stream.Name, string.Join(", ", videoNames));

            bool sourceVideo = sawVideo && passthrough;
            var feed = new BroadcastFeed(packager, stream, sawVideo, sourceVideo, _options.Captions, _logger);
            foreach (var frame in probe.ToArray())
            {
                probe.Remove(frame);
                await feed.PushAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap)
                {
                    await feed.DropAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (read.Frame is not { } frame) break;
                await feed.PushAsync(frame, cancellationToken).ConfigureAwait(false);
            }

            // The rungs end after the source once the transcoder has drained its backlog; never wait for them forever.
            try { await Task.WhenAll(extraTasks).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false); }
            catch (TimeoutException) { _logger.LogNoRenditions(stream.Name); }
            await packager.CompleteAsync(cancellationToken).ConfigureAwait(false);
            var status = packager.Status;
            _finished[stream.Name] = status;
            _logger.LogFinished(stream.Name, packager.BroadcastId, status.SegmentsWritten);
            foreach (var problem in packager.RecordingHistoryProblems) _logger.LogRecordingHistoryGap(stream.Name, packager.BroadcastId, problem);
            StreamFinished?.Invoke(new BroadcastFinished(status, packager.Recorded));
            ScheduleFinalDeletes(packager);
            LeaveLeftovers(stream.Name, packager, new Leftovers(packager.BroadcastId, packager.UnscheduledSegmentKeys()));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown before the stream ended: what was stored still gets ended manifests, so no player waits for
            // segments that will never come.
            if (packager is not null) await FinaliseOnShutdownAsync(packager).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogFailed(ex, stream.Name);
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
                _logger.LogBreakAsked(packager.Channel, cue.EventId, cue.Duration * 1000 / Timescales.Video, cue.Source);
                return true;
            }
            _logger.LogBreakRefused(packager.Channel, cue.EventId, cue.Source);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogFailed(ex, packager.Channel);
        }
        return false;
    }

    private async Task FinaliseOnShutdownAsync(StreamPackager packager)
    {
        using var bound = new CancellationTokenSource(FinaliseBound);
        try
        {
            await packager.CompleteAsync(bound.Token).ConfigureAwait(false);
            _logger.LogFinished(packager.Channel, packager.BroadcastId, packager.Status.SegmentsWritten);
            foreach (var problem in packager.RecordingHistoryProblems) _logger.LogRecordingHistoryGap(packager.Channel, packager.BroadcastId,
                problem);
        }
        catch (Exception ex)
        {
            _logger.LogFailed(ex, packager.Channel);
        }
    }

    /// <summary>Out-of-window segments of an ended, unrecorded broadcast still go after their grace period.</summary>
    private void ScheduleFinalDeletes(StreamPackager packager)
    {
        if (packager.LastDeleteDue is not DateTimeOffset due) return;
        DeleteLater(packager.Channel, due - _time.GetUtcNow(), () => packager.RunDueDeletesAsync(CancellationToken.None, all: true));
    }

    /// <summary>Deletes that run after a delay on this service's clock, beside the packaging; shutdown cancels the wait.</summary>
    private void DeleteLater(string channel, TimeSpan delay, Func<Task> delete)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero) await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                await delete().ConfigureAwait(false);
            }
            catch (OperationCanceledException) { }
            catch (Exception ex) { _logger.LogFailed(ex, channel); }
        });
        _tasks.TryAdd(task, 0);
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// A new broadcast of <paramref name="channel"/> is active (in <c>_active</c> already, so an ending one that has not
    /// left its window yet sees it): the previous one's last window, if it left one, goes.
    /// </summary>
    private void TakeLeftovers(string channel)
    {
        Leftovers? leftovers;
        lock (_leftovers)
            if (!_leftovers.Remove(channel, out leftovers)) return;
        ScheduleLeftoverDeletes(channel, leftovers);
    }

    /// <summary>
    /// An ended broadcast's last window waits for the channel's next broadcast; an encoder that reconnects at once starts
    /// that one while this one still writes its end, and its deletes are then scheduled at once (else the window stayed until
    /// the broadcast after).
    /// </summary>
    private void LeaveLeftovers(string channel, StreamPackager ended, Leftovers leftovers)
    {
        lock (_leftovers)
        {
            if (!_active.TryGetValue(channel, out var now) || now == ended)
            {
                _leftovers[channel] = leftovers;
                return;
            }
        }
        ScheduleLeftoverDeletes(channel, leftovers);
    }

    /// <summary>
    /// A new broadcast of <paramref name="channel"/> started: the previous one's last window leaves the store after the
    /// grace period (its ended playlist is replaced by then). Without this every unrecorded broadcast left its last
    /// window on disk and in the origin's cache for good (bench/soak.sh found it: memory grew with each reconnect).
    /// </summary>
    private void ScheduleLeftoverDeletes(string channel, Leftovers leftovers)
    {
        // A clip of that broadcast keeps what it names (a failing hold keeps everything: logged).
        if (leftovers.Keys.Count > 0) DeleteLater(channel, TimeSpan.FromSeconds(_options.DeleteGraceSeconds), () =>
            RetentionHolds.DeleteUnheldAsync(_store, _hold, channel, leftovers.BroadcastId, leftovers.Keys, CancellationToken.None));
    }

    /// <summary>The last window of a channel's previous unrecorded broadcast.</summary>
    private sealed record Leftovers(string BroadcastId, IReadOnlyList<string> Keys);

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
}
