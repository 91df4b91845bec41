using System.Buffers;
using System.Text;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// Packages one broadcast of one channel: N video renditions plus at most one audio rendition go through one
/// <see cref="StreamSegmenter"/>; each closed segment is written as CMAF to the store, then the manifests that
/// name it. Ordering rule: a manifest is put only after every segment it names has been stored.
/// Calls may come from several producers (one per rendition); they are serialised internally.
/// </summary>
public sealed class StreamPackager : IAsyncDisposable
{
    private readonly ISegmentStore _store;
    private readonly PackagerOptions _options;
    private readonly TimeProvider _time;
    private readonly StreamSegmenter _segmenter;
    private readonly RenditionTimeline[] _videoTimelines;
    private readonly RenditionTimeline? _audioTimeline;
    private readonly Dictionary<string, RenditionTimeline> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _storedInit = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _deletedUpTo = new(StringComparer.Ordinal);
    private readonly List<(DateTimeOffset Due, string Key)> _pendingDeletes = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<ClosedSegment> _closed = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private DateTimeOffset? _anchorWall;
    private long _anchorMedia; // 90 kHz
    private bool _masterWritten;
    private bool _ended;
    private long _segmentsWritten;
    private TimeSpan? _lastDuration;
    private readonly LowLatencyParts? _lowLatency;
    private bool _captions;
    private readonly AdBreakSchedule _breaks;
    private long _leaderLast = long.MinValue; // the leading rendition's newest frame, in its track's timescale
    private int _leaderTimescale = Timescales.Video;

    public StreamPackager(string channel, ISegmentStore store, PackagerOptions options, TimeProvider time, bool record,
        IReadOnlyList<string> videoRenditions, string? audioRendition, string? broadcastId = null, bool lowLatency = false, bool captions = false)
    {
        _captions = captions;
        if (!StoreKeys.IsValidName(channel)) throw new ArgumentException($"Channel name '{channel}' is not a valid key segment.", nameof(channel));
        foreach (var r in videoRenditions.Append(audioRendition ?? StoreKeys.AudioRendition))
            if (!StoreKeys.IsValidName(r) || r == "recordings") throw new ArgumentException($"Rendition name '{r}' is not usable.", nameof(videoRenditions));
        Channel = channel;
        _store = store;
        _options = options;
        _time = time;
        Recording = record;
        BroadcastId = broadcastId ?? StoreKeys.BroadcastId(time.GetUtcNow());
        _segmenter = lowLatency
            ? new StreamSegmenter(videoRenditions, audioRendition, options.SegmentSeconds, options.PartTicks)
            : new StreamSegmenter(videoRenditions, audioRendition, options.SegmentSeconds);
        if (lowLatency) _lowLatency = new LowLatencyParts(BroadcastId, _segmenter.PartTargetMilliseconds);
        _videoTimelines = videoRenditions.Select(r => new RenditionTimeline(r, MediaKind.Video)).ToArray();
        if (audioRendition is not null) _audioTimeline = new RenditionTimeline(audioRendition, MediaKind.Audio);
        foreach (var t in _videoTimelines.Append(_audioTimeline)) if (t is not null) _byName[t.Name] = t;
        _breaks = new AdBreakSchedule(options.SegmentSeconds);
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
    public IReadOnlyList<AdBreak> Breaks => _breaks.Placed;

    /// <summary>Raised after a manifest object was replaced.</summary>
    public event Action<ManifestUpdated>? ManifestUpdated;

    public IReadOnlyList<RenditionTimeline> VideoTimelines => _videoTimelines;

    public RenditionTimeline? AudioTimeline => _audioTimeline;

    public StreamPackagerStatus Status
    {
        get
        {
            var warnings = new List<string>();
            if (_segmenter.KeyframeWarning is { } w) warnings.Add(w);
            if (_segmenter.AudioReanchors > 0) warnings.Add($"audio timestamps jumped {_segmenter.AudioReanchors} time(s); audio clock re-anchored");
            if (_segmenter.AudioOverlapsDropped > 0)
                warnings.Add($"audio timestamps stepped back into audio already sent; {_segmenter.AudioOverlapsDropped} overlapping frame(s) dropped");
            var retired = _videoTimelines.Where(t => t.Retired).Select(t => t.Name).ToArray();
            if (retired.Length > 0) warnings.Add($"renditions {string.Join(", ", retired)} stopped and were removed from the manifests");
            var lead = _videoTimelines.Length > 0 ? _videoTimelines[0] : _audioTimeline;
            long target = lead is null || lead.Entries.Count == 0 ? _options.SegmentSeconds : ManifestFormat.TargetSeconds(lead.LongestDuration, lead.Timescale);
            return new StreamPackagerStatus(Channel, BroadcastId, Recording, Volatile.Read(ref _ended), Interlocked.Read(ref _segmentsWritten), _lastDuration, target, warnings);
        }
    }

    /// <summary>The manifests declare CTA-608 closed captions (see <see cref="DeclareCaptionsAsync"/>).</summary>
    public bool Captions => Volatile.Read(ref _captions);

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
            if (_captions || _ended) return;
            Volatile.Write(ref _captions, true);
            if (!_masterWritten) return;
            _masterWritten = false;
            await WriteManifestsAsync(PlaylistState.Live, cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    public async Task PushVideoAsync(int rendition, MediaFrame frame, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Anchor(frame);
            if (rendition == 0) NoteLeader(frame);
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
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _videoTimelines.Length);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var timeline = _videoTimelines[index];
            if (_ended || timeline.Retired) return false;
            // Its playlist ends: a player pinned to it stops asking for segments that will never come.
            if (timeline.Entries.Count > 0)
            {
                long last = AllTimelines().Select(t => t.Entries.Count > 0 ? t.Entries[^1].Number : 0).DefaultIfEmpty(0).Max();
                string text = HlsPlaylistWriter.WriteMediaPlaylist(timeline, BroadcastId, WindowStart(timeline), PlaylistState.Ended, _breaks.Placed);
                await PutManifestAsync(StoreKeys.MediaPlaylist(Channel, timeline.Name), text, ContentTypes.Hls, CachePolicies.Ended(_options), last, cancellationToken).ConfigureAwait(false);
            }
            timeline.Retire();
            // The master is otherwise written once per broadcast; it must now drop the variant.
            _masterWritten = false;
            await WriteManifestsAsync(PlaylistState.Live, cancellationToken).ConfigureAwait(false);
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
            _segmenter.Interrupt(sourceVideoIndex < _videoTimelines.Length ? sourceVideoIndex : -1, _closed);
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
            if (index >= 0 && index < _videoTimelines.Length) _segmenter.InterruptVideo(index, _closed, audioAtDrop);
            else if (audioAtDrop) _segmenter.InterruptAudio(_closed);
            else return;
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    public async Task PushAudioAsync(MediaFrame frame, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_videoTimelines.Length == 0)
            {
                Anchor(frame);
                NoteLeader(frame);
            }
            _segmenter.PushAudio(frame, _closed);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// An ad break: it begins with the leading rendition's first segment that starts at or after
    /// <see cref="SpliceCue.SpliceTime"/> (90 kHz; null: the newest frame packaged so far, i.e. the next boundary) and is
    /// marked in every rendition's playlist and the MPD from then on (see <see cref="AdBreakSchedule"/>). False when the
    /// broadcast has ended or another break waits or runs.
    /// </summary>
    public async Task<bool> InsertBreakAsync(SpliceCue cue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cue);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended) return false;
            long at = cue.SpliceTime is { } t ? Timescales.Rescale(t, Timescales.Video, _leaderTimescale) : Math.Max(_leaderLast, 0);
            return _breaks.TryAdd(cue, at, _leaderTimescale);
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
            Volatile.Write(ref _ended, true);
            await WriteManifestsAsync(PlaylistState.Ended, cancellationToken).ConfigureAwait(false);
            if (Recording) await WriteRecordingAsync(cancellationToken).ConfigureAwait(false);
            await RunDueDeletesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Deletes that were scheduled (segments out of the window) and are due; the rest, when <paramref name="all"/>.</summary>
    public async Task RunDueDeletesAsync(CancellationToken cancellationToken, bool all = false)
    {
        var now = _time.GetUtcNow();
        var due = _pendingDeletes.Where(d => all || d.Due <= now).Select(d => d.Key).ToList();
        if (due.Count == 0) return;
        _pendingDeletes.RemoveAll(d => all || d.Due <= now);
        await _store.DeleteAsync(due, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keys of this broadcast's segments and init segments no delete was scheduled for: its last live window. Once it
    /// has ended and the channel's playlists name the next broadcast, nothing names them any more. Empty when recording.
    /// Call after <see cref="CompleteAsync"/>.
    /// </summary>
    public IReadOnlyList<string> UnscheduledSegmentKeys()
    {
        if (Recording) return [];
        var keys = new List<string>();
        foreach (var t in AllTimelines())
        {
            _deletedUpTo.TryGetValue(t.Name, out int from);
            for (int i = from; i < t.Entries.Count; i++) keys.Add(StoreKeys.Segment(Channel, t.Name, BroadcastId, t.Entries[i].Number));
            if (_storedInit.TryGetValue(t.Name, out int version))
                for (int v = 0; v <= version; v++) keys.Add(StoreKeys.Init(Channel, t.Name, BroadcastId, v));
        }

        return keys;
    }

    /// <summary>When the last scheduled delete is due, or null.</summary>
    public DateTimeOffset? LastDeleteDue => _pendingDeletes.Count == 0 ? null : _pendingDeletes.Max(d => d.Due);

    /// <summary>Reads a hub reader to its end: video into the first video rendition, audio into the audio rendition.</summary>
    public async Task RunAsync(LiveStreamReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
        {
            if (frame.Kind == MediaKind.Video && _videoTimelines.Length > 0) await PushVideoAsync(0, frame, cancellationToken).ConfigureAwait(false);
            else if (frame.Kind == MediaKind.Audio) await PushAudioAsync(frame, cancellationToken).ConfigureAwait(false);
            else frame.Release();
        }
    }

    private void NoteLeader(MediaFrame frame)
    {
        _leaderTimescale = frame.Track.Timescale;
        _leaderLast = Math.Max(_leaderLast, frame.Dts);
    }

    private void Anchor(MediaFrame frame)
    {
        if (_anchorWall is not null) return;
        _anchorWall = _time.GetUtcNow();
        _anchorMedia = Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Video);
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var parted = await StorePartsAsync(cancellationToken).ConfigureAwait(false);
        if (_closed.Count == 0)
        {
            if (parted is not null) await WritePartPlaylistsAsync(parted, cancellationToken).ConfigureAwait(false);
            return;
        }
        await StoreSegmentsAsync(cancellationToken).ConfigureAwait(false);
        await WriteManifestsAsync(PlaylistState.Live, cancellationToken).ConfigureAwait(false);
        ScheduleDeletes();
        SchedulePartDeletesOfRecording();
        await RunDueDeletesAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StoreSegmentsAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var seg in _closed)
            {
                var timeline = _byName[seg.Rendition];
                string contentType = seg.Track.Kind == MediaKind.Audio ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
                string initName = StoreKeys.InitName(BroadcastId, seg.InitVersion);
                await StoreInitAsync(seg.Rendition, seg.Track, seg.InitVersion, contentType, cancellationToken).ConfigureAwait(false);
                _buffer.ResetWrittenCount();
                if (seg.PartStarts is not null) CmafPartWriter.WriteSegment(_buffer, seg);
                else CmafWriter.WriteMediaSegment(_buffer, (uint)seg.Number, 1, seg.StartTime, seg.Samples, seg.Track.Kind);
                long size = _buffer.WrittenCount;
                await _store.PutAsync(StoreKeys.Segment(Channel, seg.Rendition, BroadcastId, seg.Number), _buffer.WrittenMemory,
                    contentType, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);

                var description = new SegmentDescription(seg.Rendition, seg.Track.Kind, seg.Number, seg.StartTime, seg.Duration, seg.Timescale,
                    size, seg.StartsWithKeyframe, seg.Discontinuity, initName, seg.Track, seg.Samples.Length,
                    seg.PresentationStartOffset, seg.PresentationEndOffset);
                timeline.Add(description, ProgramDateTime(seg.StartTime, seg.Timescale));
                if (ReferenceEquals(timeline, Leader) && _breaks.OnLeaderSegment(timeline.Entries[^1]) is { } changed) BreakChanged?.Invoke(changed);
                Interlocked.Increment(ref _segmentsWritten);
                _lastDuration = TimeSpan.FromTicks((long)((Int128)seg.Duration * TimeSpan.TicksPerSecond / seg.Timescale));
                SegmentClosed?.Invoke(description);
            }
        }
        finally
        {
            foreach (var seg in _closed) seg.Dispose();
            _closed.Clear();
        }
    }

    /// <summary>Wall clock of a media time: the TimeProvider's clock when the first frame arrived, plus media time since.</summary>
    private DateTimeOffset ProgramDateTime(long start, int timescale)
    {
        var wall = _anchorWall ?? _time.GetUtcNow();
        long media = Timescales.Rescale(start, timescale, Timescales.Video) - _anchorMedia;
        return wall + TimeSpan.FromTicks((long)((Int128)media * TimeSpan.TicksPerSecond / Timescales.Video));
    }

    /// <summary>The rendition whose segments place ad breaks: the first video rendition (never retired), else the audio.</summary>
    private RenditionTimeline? Leader => _videoTimelines.Length > 0 ? _videoTimelines[0] : _audioTimeline;

    private IEnumerable<RenditionTimeline> AllTimelines() => _videoTimelines.Concat(_audioTimeline is null ? [] : [_audioTimeline]);

    private async Task WriteManifestsAsync(PlaylistState state, CancellationToken cancellationToken)
    {
        string cache = state == PlaylistState.Live ? CachePolicies.Live(_options) : CachePolicies.Ended(_options);
        long last = AllTimelines().Select(t => t.Entries.Count > 0 ? t.Entries[^1].Number : 0).DefaultIfEmpty(0).Max();
        foreach (var t in AllTimelines())
        {
            // A retired rendition's ended playlist was written when it retired; it does not change while live.
            if (t.Entries.Count == 0 || (t.Retired && state == PlaylistState.Live)) continue;
            string text = LowLatencyText(t, HlsPlaylistWriter.WriteMediaPlaylist(t, BroadcastId, WindowStart(t), state, _breaks.Placed), state);
            await PutManifestAsync(StoreKeys.MediaPlaylist(Channel, t.Name), text, ContentTypes.Hls, cache, last, cancellationToken).ConfigureAwait(false);
        }
        // The master waits until every rendition has a segment, so BANDWIDTH and CODECS are measured, not guessed.
        bool allHave = AllTimelines().All(t => t.Entries.Count > 0 || t.Retired);
        if (allHave && (!_masterWritten || state != PlaylistState.Live))
        {
            string master = HlsPlaylistWriter.WriteMaster(_videoTimelines, _audioTimeline, r => $"{r}/index.m3u8", _captions);
            await PutManifestAsync(StoreKeys.Master(Channel), master, ContentTypes.Hls, cache, last, cancellationToken).ConfigureAwait(false);
            _masterWritten = true;
        }
        if (AllTimelines().Any(t => t.Entries.Count > 0))
        {
            string mpd = DashManifestWriter.Write(_videoTimelines, _audioTimeline, MpdSettings(LeaderWindowFirstNumber(), isStatic: state != PlaylistState.Live, ""));
            if (_lowLatency is not null && state == PlaylistState.Live)
                mpd = LowLatencyMpd.Decorate(mpd, new LowLatencyMpdSettings(_options.SegmentSeconds, _lowLatency.PartTargetMilliseconds,
                    MpdSettings(1, false, "").AvailabilityStartTime, _options.LowLatencyTargetMilliseconds));
            await PutManifestAsync(StoreKeys.Mpd(Channel), mpd, ContentTypes.Dash, cache, last, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteRecordingAsync(CancellationToken cancellationToken)
    {
        long last = AllTimelines().Select(t => t.Entries.Count > 0 ? t.Entries[^1].Number : 0).DefaultIfEmpty(0).Max();
        foreach (var t in AllTimelines())
        {
            if (t.Entries.Count == 0) continue;
            string text = HlsPlaylistWriter.WriteMediaPlaylist(t, BroadcastId, 0, PlaylistState.Vod, _breaks.Placed);
            await PutManifestAsync(StoreKeys.VodPlaylist(Channel, t.Name, BroadcastId), text, ContentTypes.Hls, CachePolicies.Vod, last, cancellationToken).ConfigureAwait(false);
        }
        var withSegments = _videoTimelines.Where(t => t.Entries.Count > 0).ToList();
        var audio = _audioTimeline is { Entries.Count: > 0 } ? _audioTimeline : null;
        string master = HlsPlaylistWriter.WriteMaster(withSegments, audio, r => $"{StoreKeys.RecordingToChannel}{r}/{BroadcastId}.m3u8", _captions);
        await PutManifestAsync(StoreKeys.RecordingMaster(Channel, BroadcastId), master, ContentTypes.Hls, CachePolicies.Vod, last, cancellationToken).ConfigureAwait(false);
        string mpd = DashManifestWriter.Write(withSegments, audio, MpdSettings(1, isStatic: true, StoreKeys.RecordingToChannel));
        await PutManifestAsync(StoreKeys.RecordingMpd(Channel, BroadcastId), mpd, ContentTypes.Dash, CachePolicies.Vod, last, cancellationToken).ConfigureAwait(false);
    }

    private MpdSettings MpdSettings(long firstNumber, bool isStatic, string prefix)
    {
        var lead = AllTimelines().FirstOrDefault(t => t.Entries.Count > 0);
        var ast = lead is null ? _time.GetUtcNow() : lead.Entries[0].ProgramDateTime;
        int shift = _options.DvrSeconds > 0 ? _options.DvrSeconds : _options.WindowSegments * _options.SegmentSeconds;
        return new MpdSettings(BroadcastId, isStatic, ast, _time.GetUtcNow(), _options.SegmentSeconds, shift, _options.UtcTimingUrl, firstNumber, prefix,
            _captions, _breaks.Placed);
    }

    /// <summary>
    /// Each rendition counts its own window back from its newest segment. Audio's numbers are a subset of the
    /// leader's and end at or before the leader's newest, so its window never starts after the leader's first
    /// number: the MPD (which names every rendition from that number) only names stored segments, and a lagging
    /// audio playlist keeps its three segments (RFC 8216 section 6.2.2).
    /// </summary>
    private int WindowStart(RenditionTimeline t) => t.WindowStart(_options.WindowSegments, _options.DvrSeconds);

    private long LeaderWindowFirstNumber()
    {
        var lead = AllTimelines().FirstOrDefault(t => t.Entries.Count > 0);
        if (lead is null) return 1;
        int start = WindowStart(lead);
        return lead.Entries[Math.Min(start, lead.Entries.Count - 1)].Number;
    }

    private async Task PutManifestAsync(string key, string text, string contentType, string cacheControl, long lastNumber, CancellationToken cancellationToken)
    {
        await _store.PutAsync(key, Encoding.UTF8.GetBytes(text), contentType, cacheControl, cancellationToken).ConfigureAwait(false);
        ManifestUpdated?.Invoke(new ManifestUpdated(Channel, key, lastNumber));
    }

    /// <summary>Segments that left every manifest are deleted after the grace period, unless the broadcast is recorded.</summary>
    private void ScheduleDeletes()
    {
        if (Recording) return;
        var due = _time.GetUtcNow().AddSeconds(_options.DeleteGraceSeconds);
        foreach (var t in AllTimelines())
        {
            int start = WindowStart(t);
            _deletedUpTo.TryGetValue(t.Name, out int from);
            for (int i = from; i < start; i++)
            {
                _pendingDeletes.Add((due, StoreKeys.Segment(Channel, t.Name, BroadcastId, t.Entries[i].Number)));
                if (_lowLatency is not null)
                    foreach (var part in _lowLatency.PartNames(t.Name, t.Entries[i].Number)) _pendingDeletes.Add((due, $"{Channel}/{t.Name}/{part}"));
            }
            if (start > from) _deletedUpTo[t.Name] = start;
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
                string contentType = part.Track.Kind == MediaKind.Audio ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
                await StoreInitAsync(part.Rendition, part.Track, part.InitVersion, contentType, cancellationToken).ConfigureAwait(false);
                _buffer.ResetWrittenCount();
                CmafPartWriter.WritePart(_buffer, part);
                await _store.PutAsync($"{Channel}/{part.Rendition}/{LowLatencyPlaylist.PartName(BroadcastId, part.Number, part.Index)}", _buffer.WrittenMemory,
                    contentType, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
                _lowLatency.Add(part);
                (touched ??= new HashSet<string>(StringComparer.Ordinal)).Add(part.Rendition);
            }
        }
        finally
        {
            parts.Clear();
        }
        foreach (var seg in _closed) _lowLatency.SegmentClosing(seg.Rendition, seg.Number);
        return touched;
    }

    /// <summary>
    /// A recorded low-latency broadcast keeps its segments for the VOD manifests, which name no parts: a segment's
    /// parts go once it leaves the live window, like an unrecorded broadcast's segments.
    /// </summary>
    private void SchedulePartDeletesOfRecording()
    {
        if (!Recording || _lowLatency is null) return;
        var due = _time.GetUtcNow().AddSeconds(_options.DeleteGraceSeconds);
        foreach (var t in AllTimelines())
        {
            int start = WindowStart(t);
            for (int i = 0; i < start; i++)
                foreach (var part in _lowLatency.PartNames(t.Name, t.Entries[i].Number)) _pendingDeletes.Add((due, $"{Channel}/{t.Name}/{part}"));
        }
    }

    /// <summary>Stores a rendition's init segment the first time a segment or part of that decoder configuration goes out.</summary>
    private async Task StoreInitAsync(string rendition, MediaTrack track, int initVersion, string contentType, CancellationToken cancellationToken)
    {
        if (_storedInit.TryGetValue(rendition, out int stored) && stored == initVersion) return;
        _buffer.ResetWrittenCount();
        CmafWriter.WriteInitSegment(_buffer, track);
        await _store.PutAsync(StoreKeys.Init(Channel, rendition, BroadcastId, initVersion), _buffer.WrittenMemory,
            contentType, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        _storedInit[rendition] = initVersion;
    }

    /// <summary>Rewrites the media playlists of renditions that gained parts (no segment closed: master and MPD stay).</summary>
    private async Task WritePartPlaylistsAsync(HashSet<string> renditions, CancellationToken cancellationToken)
    {
        string cache = CachePolicies.Live(_options);
        long last = AllTimelines().Select(t => t.Entries.Count > 0 ? t.Entries[^1].Number : 0).DefaultIfEmpty(0).Max();
        foreach (var t in AllTimelines())
        {
            if (!renditions.Contains(t.Name) || t.Entries.Count == 0 || t.Retired) continue;
            string text = LowLatencyText(t, HlsPlaylistWriter.WriteMediaPlaylist(t, BroadcastId, WindowStart(t), PlaylistState.Live, _breaks.Placed), PlaylistState.Live);
            await PutManifestAsync(StoreKeys.MediaPlaylist(Channel, t.Name), text, ContentTypes.Hls, cache, last, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A live playlist of a low-latency broadcast gets its parts, hint and rendition reports; others are unchanged.</summary>
    private string LowLatencyText(RenditionTimeline timeline, string playlist, PlaylistState state)
    {
        if (_lowLatency is null || state != PlaylistState.Live) return playlist;
        var others = AllTimelines().Where(o => !o.Retired && o.Entries.Count > 0).Select(o => o.Name);
        return LowLatencyPlaylist.Decorate(playlist, _lowLatency.View(timeline.Name, others));
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var seg in _closed) seg.Dispose();
            _closed.Clear();
            _segmenter.Dispose();
        }
        finally { _gate.Release(); }
    }
}
