using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// Packages one broadcast of one channel: N video renditions plus the audio (the default track and the encoder's
/// alternate tracks, see <see cref="PushAudioAsync(int, MediaFrame, CancellationToken)"/>) go through one
/// <see cref="StreamSegmenter"/>; each closed segment (and, with low latency, each part) is written as CMAF to the store,
/// then its listeners (<see cref="IPackagerListener"/>: live HLS, the MPD, low-latency parts, the recording, retention)
/// write what names it. Ordering rule: a manifest is put only after every segment it names has been stored.
/// Calls may come from several producers (one per rendition); they are serialised internally.
/// </summary>
public sealed class StreamPackager : IAsyncDisposable
{
    private readonly StreamSegmenter _segmenter;
    private readonly PackagedBroadcast _broadcast;
    private readonly Dictionary<string, RenditionTimeline> _byName = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<ClosedSegment> _closed = new();
    private readonly CmafObjectWriter _objects;
    private readonly BroadcastClock _clock;
    private readonly LowLatencyParts? _lowLatency;
    private readonly PackagerListeners _listeners;
    private readonly RestoredBroadcast? _restored;
    private bool _ended;
    private long _segmentsWritten;
    private long _keptBytes;
    private TimeSpan? _lastDuration;

    /// <param name="settings">What the broadcast is packaged with; refused when a name cannot be used.</param>
    /// <param name="store">Where its objects go.</param>
    /// <param name="options">The node's <c>Packager</c> settings.</param>
    /// <param name="time">The clock the broadcast id, program date-times and deletes read.</param>
    /// <param name="hold">Asked before a segment is deleted (clips keep theirs); null: nothing is held.</param>
    public StreamPackager(BroadcastSettings settings, ISegmentStore store, PackagerOptions options, TimeProvider time, IRetentionHold? hold = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var continues = settings.Continues;
        var alternateAudio = settings.PackagedAlternateAudio;
        Channel = settings.Channel;
        _clock = new BroadcastClock(time);
        Recording = settings.Record;
        BroadcastId = continues?.State.BroadcastId ?? settings.BroadcastId ?? StoreKeys.BroadcastId(time.GetUtcNow());
        string[] alternateNames = alternateAudio.Select(a => a.Name).ToArray();
        _segmenter = settings.LowLatency
            ? new StreamSegmenter(settings.VideoRenditions, settings.AudioRendition, alternateNames, options.SegmentSeconds, options.PartTicks)
            : new StreamSegmenter(settings.VideoRenditions, settings.AudioRendition, alternateNames, options.SegmentSeconds);
        if (continues is not null)
            _segmenter.ContinueAfter(continues.FirstNumber - 1,
                continues.State.Renditions.ToDictionary(r => r.Name, r => r.LastInitVersion, StringComparer.Ordinal));
        if (settings.LowLatency) _lowLatency = new LowLatencyParts(BroadcastId, _segmenter.PartTargetMilliseconds, options.PartHoldBackTargets);
        _broadcast = new PackagedBroadcast(settings, BroadcastId, store, options, time, m => ManifestUpdated?.Invoke(m));
        foreach (var t in _broadcast.AllTimelines()) _byName[t.Name] = t;
        _objects = new CmafObjectWriter(_broadcast);
        _listeners = new PackagerListeners(_broadcast, _lowLatency, hold ?? new NoRetentionHold(), continues?.State.JournaledThrough ?? 0);
        if (continues is not null)
            _restored = new RestoredBroadcast(continues, _broadcast, _byName, _listeners.State, _listeners.Retention, _lowLatency);
    }

    public string Channel { get; }

    public string BroadcastId { get; }

    public bool Recording { get; }

    /// <summary>Packaged with parts: LL-HLS playlists and LL-DASH.</summary>
    public bool LowLatency => _lowLatency is not null;

    /// <summary>Raised after a segment is stored (before the manifests naming it are).</summary>
    public event Action<SegmentDescription>? SegmentClosed;

    /// <summary>Raised when an ad break got its first segment (the break begins) and again when it got its last (it ends).</summary>
    public event Action<AdBreak>? BreakChanged;

    /// <summary>The broadcast's ad breaks, placed on the leading rendition's segments.</summary>
    public IReadOnlyList<AdBreak> Breaks => _broadcast.Breaks.Placed;

    /// <summary>Raised after a manifest object was replaced.</summary>
    public event Action<ManifestUpdated>? ManifestUpdated;

    public IReadOnlyList<RenditionTimeline> VideoTimelines => _broadcast.VideoTimelines;

    public RenditionTimeline? AudioTimeline => _broadcast.AudioTimeline;

    /// <summary>The encoder's alternate audio renditions, audio index 1 onwards.</summary>
    public IReadOnlyList<RenditionTimeline> AlternateAudioTimelines => _broadcast.AlternateAudioTimelines;

    /// <summary>
    /// A recorded broadcast's recording once <see cref="CompleteAsync"/> stored it: its duration (the first variant's, as
    /// its VOD playlist lists it) and the bytes of every object it holds. Null otherwise.
    /// </summary>
    public RecordedMedia? Recorded => _listeners.Recording?.Recorded;

    /// <summary>Journal chunks a continued broadcast's recording could not read back (a gap in it); empty when none.</summary>
    public IReadOnlyList<string> RecordingHistoryProblems => _listeners.Recording?.HistoryProblems ?? [];

    public StreamPackagerStatus Status
    {
        get
        {
            var warnings = PackagingWarnings.Of(_segmenter, _broadcast);
            var lead = _broadcast.Leader;
            long target = lead is null || lead.Entries.Count == 0
                ? _broadcast.Options.SegmentSeconds
                : ManifestFormat.TargetSeconds(lead.LongestDuration, lead.Timescale);
            return new StreamPackagerStatus(Channel, BroadcastId, Recording, Volatile.Read(ref _ended), Interlocked.Read(ref _segmentsWritten),
                _lastDuration, target, warnings)
            {
                RewindSeconds = _broadcast.RewindSeconds,
                KeptBytes = Interlocked.Read(ref _keptBytes), AudioRenditions = _broadcast.AudioRenditionNames,
            };
        }
    }

    /// <summary>The manifests declare CTA-608 closed captions (see <see cref="DeclareCaptionsAsync"/>).</summary>
    public bool Captions => _broadcast.Captions;

    /// <summary>
    /// The video carries closed captions (found in the source after the packaging started): from now on the master
    /// playlist names the CLOSED-CAPTIONS rendition and the MPD's video AdaptationSet the Accessibility descriptor. A
    /// master already written is rewritten at once: players that load it from here on show the captions (one that read
    /// it before does not re-read a master, hence <see cref="CaptionDeclaration.Always"/> for inserters that start late).
    /// The declaration stays for the rest of the broadcast and its recording.
    /// </summary>
    public async Task DeclareCaptionsAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_broadcast.Captions || _ended) return;
            _broadcast.Captions = true;
            if (!_listeners.Hls.MasterWritten) return;
            await _listeners.OnLadderChangedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    public async Task PushVideoAsync(int rendition, MediaFrame frame, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _clock.Anchor(frame);
            if (rendition == 0) _clock.NoteLeader(frame);
            _segmenter.PushVideo(rendition, frame, _closed);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Video rendition <paramref name="index"/>'s producer restarted: its next segment carries a discontinuity.</summary>
    public async Task MarkDiscontinuityAsync(int index, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try { _segmenter.MarkDiscontinuity(index); }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// Video rendition <paramref name="index"/>'s producer stopped for good while the stream goes on (a transcoder rung
    /// was shed). Its media playlist ends now (EXT-X-ENDLIST over what it has stored) and the master playlist and the
    /// MPD are rewritten without it. The leading rendition (index 0) times the audio and cannot be retired.
    /// Returns false when there was nothing to do (already retired, or the broadcast ended).
    /// </summary>
    public async Task<bool> RetireVideoAsync(int index, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _broadcast.VideoTimelines.Length);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var timeline = _broadcast.VideoTimelines[index];
            if (_ended || timeline.Retired) return false;
            await _listeners.OnRenditionRetiringAsync(timeline, cancellationToken).ConfigureAwait(false);
            timeline.Retire();
            await _listeners.OnLadderChangedAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// The source's publisher reconnected within the grace period: the same broadcast continues. What the source video
    /// rendition <paramref name="sourceVideoIndex"/> (-1 when the source's video is not packaged) and the audio hold is
    /// stored now, and their next segments (same numbering, next numbers) carry EXT-X-DISCONTINUITY and open a new DASH
    /// Period. Call it before the first frame of the new publisher.
    /// </summary>
    public async Task JoinAsync(int sourceVideoIndex, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended) return;
            _segmenter.Interrupt(sourceVideoIndex < _broadcast.VideoTimelines.Length ? sourceVideoIndex : -1, _closed);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// The source's publisher dropped and its reader has everything sent before the drop: the source video rendition
    /// <paramref name="sourceVideoIndex"/> (-1 when the source's video is not packaged) and the audio close at their last
    /// frames and are stored now, so players can play up to the live edge during the gap. Without the source's video the
    /// audio closes once the leading rung has stopped as well (<see cref="InterruptRenditionAsync"/>), at that rung's
    /// end. The next segments are discontinuous (see <see cref="JoinAsync"/>).
    /// </summary>
    public Task InterruptAsync(int sourceVideoIndex, CancellationToken cancellationToken) =>
        InterruptCoreAsync(sourceVideoIndex, audioAtDrop: true, cancellationToken);

    /// <summary>
    /// A transcoded rung's ffmpeg drained at the publisher's drop: the rung's open segment closes at its last frame and
    /// is stored now. For the leading rung (<paramref name="index"/> 0, no passthrough) the audio closes at the same end
    /// once the source's reader has reached the drop too (<see cref="InterruptAsync"/>).
    /// </summary>
    public Task InterruptRenditionAsync(int index, CancellationToken cancellationToken) =>
        InterruptCoreAsync(index, audioAtDrop: false, cancellationToken);

    private async Task InterruptCoreAsync(int index, bool audioAtDrop, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended) return;
            if (index >= 0 && index < _broadcast.VideoTimelines.Length) _segmenter.InterruptVideo(index, _closed, audioAtDrop);
            else if (audioAtDrop) _segmenter.InterruptAudio(_closed);
            else return;
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>A frame of the default audio track.</summary>
    public Task PushAudioAsync(MediaFrame frame, CancellationToken cancellationToken) => PushAudioAsync(0, frame, cancellationToken);

    /// <summary>
    /// A frame of audio rendition <paramref name="index"/>: 0 the default track, from 1 the alternate tracks in the order
    /// the packager was given them. Each is cut where the leading video cuts, so every language has the same numbers.
    /// </summary>
    public async Task PushAudioAsync(int index, MediaFrame frame, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_broadcast.VideoTimelines.Length == 0 && index == 0)
            {
                _clock.Anchor(frame);
                _clock.NoteLeader(frame);
            }
            _segmenter.PushAudio(index, frame, _closed);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// An ad break: every video rendition cuts a segment at its first keyframe presented at or after
    /// <see cref="SpliceCue.SpliceTime"/> (90 kHz; null: after the newest frame packaged so far, i.e. the next keyframe), the
    /// break begins with that segment and is marked in every rendition's playlist and the MPD from then on (see
    /// <see cref="AdBreakSchedule"/>); it returns at the first keyframe its planned duration later, cut the same way.
    /// False when the broadcast has ended or another break waits or runs.
    /// </summary>
    public async Task<bool> InsertBreakAsync(SpliceCue cue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cue);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended) return false;
            int leaderTimescale = _clock.LeaderTimescale;
            long at = cue.SpliceTime is { } t ? Timescales.Rescale(t, Timescales.Video, leaderTimescale) : Math.Max(_clock.LeaderLast, 0);
            if (!_broadcast.Breaks.CanAdd) return false;
            // With video, every rendition cuts a segment at the first keyframe from the splice point on, and the break
            // starts with that segment (the schedule places it on the first leader segment starting at or after `at`).
            // The return gets its cut too, the planned duration later, and the break ends with the segment starting there.
            if (_broadcast.VideoTimelines.Length > 0
                && _segmenter.ScheduleSpliceCut(Timescales.Rescale(at, leaderTimescale, Timescales.Video), cue.Duration) is long cut)
            {
                at = Timescales.Rescale(cut, Timescales.Video, leaderTimescale);
                long returnAt = at + Timescales.Rescale(cue.Duration, Timescales.Video, leaderTimescale);
                return _broadcast.Breaks.TryAdd(cue, at, leaderTimescale, returnAt: returnAt);
            }
            return _broadcast.Breaks.TryAdd(cue, at, leaderTimescale);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Unpublish: closes open segments, writes ENDLIST playlists, a static MPD and, when recording, the VOD manifests.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended) return;
            _segmenter.Flush(_closed);
            await StorePartsAsync(cancellationToken).ConfigureAwait(false);
            await StoreSegmentsAsync(cancellationToken).ConfigureAwait(false);
            if (_broadcast.Leader is { Entries.Count: > 0 } leader && _broadcast.Breaks.CloseAtEnd(leader.Entries[^1]) is { } closed)
                BreakChanged?.Invoke(closed);
            Volatile.Write(ref _ended, true);
            await _listeners.OnEndedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Deletes that were scheduled (segments out of the window) and are due; the rest, when <paramref name="all"/>.</summary>
    public Task RunDueDeletesAsync(CancellationToken cancellationToken, bool all = false) =>
        _listeners.Retention.RunDueDeletesAsync(cancellationToken, all);

    /// <summary>
    /// Keys of this broadcast's segments and init segments no delete was scheduled for: its last live window. Once it
    /// has ended and the channel's playlists name the next broadcast, nothing names them any more. Empty when recording.
    /// Call after <see cref="CompleteAsync"/>.
    /// </summary>
    public IReadOnlyList<string> UnscheduledSegmentKeys() => _listeners.Retention.UnscheduledSegmentKeys();

    /// <summary>When the last scheduled delete is due, or null.</summary>
    public DateTimeOffset? LastDeleteDue => _listeners.Retention.LastDeleteDue;

    /// <summary>Reads a hub reader to its end: video into the first video rendition, audio into the audio rendition.</summary>
    public async Task RunAsync(LiveStreamReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
        {
            if (frame.Kind == MediaKind.Video && _broadcast.VideoTimelines.Length > 0) await PushVideoAsync(0, frame,
                cancellationToken).ConfigureAwait(false);
            else if (frame.Kind == MediaKind.Audio) await PushAudioAsync(frame, cancellationToken).ConfigureAwait(false);
            else frame.Release();
        }
    }

    /// <summary>Stores what the segmenter closed, then tells the listeners: the manifests naming it, then the clean-up.</summary>
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var parted = await StorePartsAsync(cancellationToken).ConfigureAwait(false);
        if (_closed.Count == 0)
        {
            if (parted is not null) await _listeners.OnPartsAddedAsync(parted, cancellationToken).ConfigureAwait(false);
            return;
        }
        await StoreSegmentsAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _keptBytes, _broadcast.KeptSegmentBytes());
        await _listeners.OnSegmentsAddedAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StoreSegmentsAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var seg in _closed)
            {
                var timeline = _byName[seg.Rendition];
                string initName = StoreKeys.InitName(BroadcastId, seg.InitVersion);
                await StoreInitAsync(seg.Rendition, seg.Track, seg.InitVersion, cancellationToken).ConfigureAwait(false);
                await _objects.PutSegmentAsync(seg, out long size, cancellationToken).ConfigureAwait(false);

                var description = new SegmentDescription(seg.Rendition, seg.Track.Kind, seg.Number, seg.StartTime, seg.Duration, seg.Timescale,
                    size, seg.StartsWithKeyframe, seg.Discontinuity, initName, seg.Track, seg.Samples.Length,
                    seg.PresentationStartOffset, seg.PresentationEndOffset) { InitVersion = seg.InitVersion };
                _restored?.BeforeSegment(timeline, seg);
                timeline.Add(description, _clock.ProgramDateTime(seg.StartTime, seg.Timescale));
                if (ReferenceEquals(timeline, _broadcast.Leader) && _broadcast.Breaks.OnLeaderSegment(timeline.Entries[^1]) is { } changed)
                    BreakChanged?.Invoke(changed);
                Interlocked.Increment(ref _segmentsWritten);
                _lastDuration = TimeSpan.FromTicks((long)((Int128)seg.Duration * TimeSpan.TicksPerSecond / seg.Timescale));
                _listeners.OnSegmentStored(description);
                SegmentClosed?.Invoke(description);
            }
        }
        finally
        {
            foreach (var seg in _closed) seg.Dispose();
            _closed.Clear();
        }
    }

    /// <summary>
    /// Low latency: stores the parts the segmenter cut (each an immutable object named after its segment and index)
    /// and notes the segments about to be stored. Returns the renditions that gained parts, or null.
    /// </summary>
    private async Task<HashSet<string>?> StorePartsAsync(CancellationToken cancellationToken)
    {
        if (_lowLatency is null || _segmenter.Parts is not { } parts) return null;
        HashSet<string>? touched = null;
        try
        {
            foreach (var part in parts)
            {
                await StoreInitAsync(part.Rendition, part.Track, part.InitVersion, cancellationToken).ConfigureAwait(false);
                await _objects.PutPartAsync(part, cancellationToken).ConfigureAwait(false);
                _listeners.OnPartStored(part);
                (touched ??= new HashSet<string>(StringComparer.Ordinal)).Add(part.Rendition);
            }
        }
        finally
        {
            parts.Clear();
        }
        foreach (var seg in _closed) _listeners.OnSegmentClosing(seg.Rendition, seg.Number);
        return touched;
    }

    /// <summary>Stores a rendition's init segment when its decoder configuration is new, and tells the listeners.</summary>
    private async Task StoreInitAsync(string rendition, MediaTrack track, int initVersion, CancellationToken cancellationToken)
    {
        if (await _objects.PutInitAsync(rendition, track, initVersion, cancellationToken).ConfigureAwait(false) is long size)
            _listeners.OnInitStored(rendition, initVersion, size);
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var seg in _closed) seg.Dispose();
            _closed.Clear();
            _segmenter.Dispose();
            _broadcast.Keys?.Dispose();
        }
        finally { _gate.Release(); }
    }
}
