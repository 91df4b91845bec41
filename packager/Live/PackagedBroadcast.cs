using System.Text;
using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// What the listeners of one broadcast share: its names, settings, store and clock, the renditions' timelines, the ad
/// breaks and the captions declaration, and the one way a manifest is put (which raises <see cref="ManifestUpdated"/>).
/// Owned and serialised by its <see cref="StreamPackager"/>.
/// </summary>
internal sealed class PackagedBroadcast
{
    private int _captions;

    /// <param name="settings">The broadcast's settings (renditions, audio, captions, rewind window, protection), validated by
    /// its packager.</param>
    /// <param name="broadcastId">Its id: the settings', the continued broadcast's, or made from the clock at the start.</param>
    /// <param name="store">Where its objects go.</param>
    /// <param name="options">The node's <c>Packager</c> settings.</param>
    /// <param name="time">The clock its program date-times and deletes read.</param>
    /// <param name="manifestUpdated">Told of every manifest put.</param>
    public PackagedBroadcast(BroadcastSettings settings, string broadcastId, ISegmentStore store, PackagerOptions options, TimeProvider time,
        Action<ManifestUpdated> manifestUpdated)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        RewindSeconds = settings.RewindSeconds ?? options.DvrSeconds;
        ArgumentOutOfRangeException.ThrowIfNegative(RewindSeconds, nameof(settings.RewindSeconds));
        Channel = settings.Channel;
        BroadcastId = broadcastId;
        Recording = settings.Record;
        Protection = settings.Protection;
        Keys = Protection is null ? null : new KeySchedule(Protection);
        Store = store;
        Options = options;
        Time = time;
        VideoTimelines = settings.VideoRenditions.Select(r => new RenditionTimeline(r, MediaKind.Video)).ToArray();
        if (settings.AudioRendition is { } audio)
        {
            AudioTimeline = new RenditionTimeline(audio, MediaKind.Audio) { AudioLabel = settings.AudioLabel ?? AudioLabel.Unlabelled };
            AlternateAudioTimelines = settings.PackagedAlternateAudio
                .Select(a => new RenditionTimeline(a.Name, MediaKind.Audio) { AudioLabel = a.Label }).ToArray();
        }
        Breaks = new AdBreakSchedule(options.SegmentSeconds);
        _captions = settings.Captions ? 1 : 0;
        ManifestUpdated = manifestUpdated;
    }

    public string Channel { get; }

    public string BroadcastId { get; }

    public bool Recording { get; }

    public ISegmentStore Store { get; }

    public PackagerOptions Options { get; }

    /// <summary>How the broadcast's media is encrypted; null when it is not (its bytes and manifests then as they always were).</summary>
    public BroadcastProtection? Protection { get; }

    /// <summary>Which key encrypts each segment (one for the whole broadcast unless it rotates); null when clear.</summary>
    public KeySchedule? Keys { get; }

    /// <summary>
    /// How far back the live manifests reach (the channel's rewind window, else <c>Packager:DvrSeconds</c>); 0 keeps only
    /// the live window of <c>Packager:WindowSegments</c>. Retention keeps what it names.
    /// </summary>
    public int RewindSeconds { get; }

    /// <summary>The seconds the live manifests span: the rewind window, else the live window's segments.</summary>
    public int WindowSeconds => RewindSeconds > 0 ? RewindSeconds : Options.WindowSegments * Options.SegmentSeconds;

    public TimeProvider Time { get; }

    public RenditionTimeline[] VideoTimelines { get; }

    /// <summary>The default audio rendition: the source's own audio track.</summary>
    public RenditionTimeline? AudioTimeline { get; }

    /// <summary>The encoder's alternate audio tracks, each a rendition cut at the same numbers as the default; empty when none.</summary>
    public RenditionTimeline[] AlternateAudioTimelines { get; } = [];

    /// <summary>The names of the audio renditions, the default one first; empty without audio.</summary>
    public IReadOnlyList<string> AudioRenditionNames =>
        AudioTimeline is null ? [] : [AudioTimeline.Name, .. AlternateAudioTimelines.Select(t => t.Name)];

    public AdBreakSchedule Breaks { get; }

    private Action<ManifestUpdated> ManifestUpdated { get; }

    /// <summary>The manifests declare CTA-608 closed captions; once set it stays for the broadcast and its recording.</summary>
    public bool Captions
    {
        get => Volatile.Read(ref _captions) != 0;
        set => Volatile.Write(ref _captions, value ? 1 : 0);
    }

    /// <summary>The rendition whose segments place ad breaks: the first video rendition (never retired), else the audio.</summary>
    public RenditionTimeline? Leader => VideoTimelines.Length > 0 ? VideoTimelines[0] : AudioTimeline;

    public IEnumerable<RenditionTimeline> AllTimelines() =>
        VideoTimelines.Concat(AudioTimeline is null ? [] : [AudioTimeline]).Concat(AlternateAudioTimelines);

    /// <summary>The newest segment number of any rendition (what a manifest update announces), 0 before the first.</summary>
    public long LastNumber() => AllTimelines().Select(t => t.Entries.Count > 0 ? t.Entries[^1].Number : 0).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Each rendition counts its own window back from its newest segment. Audio's numbers are a subset of the
    /// leader's and end at or before the leader's newest, so its window never starts after the leader's first
    /// number: the MPD (which names every rendition from that number) only names stored segments, and a lagging
    /// audio playlist keeps its three segments (RFC 8216 section 6.2.2).
    /// </summary>
    public int WindowStart(RenditionTimeline t) => t.WindowStart(Options.WindowSegments, RewindSeconds);

    /// <summary>
    /// Bytes of the segments <see cref="SegmentRetention"/> keeps: each rendition's window, or every segment of a recorded
    /// broadcast. Read on the packager's own loop (the timelines are its alone).
    /// </summary>
    public long KeptSegmentBytes()
    {
        long bytes = 0;
        foreach (var t in AllTimelines())
            for (int i = Recording ? 0 : WindowStart(t); i < t.Entries.Count; i++) bytes += t.Entries[i].Segment.ByteSize;
        return bytes;
    }

    /// <summary>
    /// A broadcast continued from another node's stored state: where its timeline began, which its timelines no longer
    /// hold (they start at the restored window). Null for a broadcast that began here.
    /// </summary>
    public BroadcastOrigin? ContinuedFrom { get; set; }

    /// <summary>The wall clock of the broadcast's first stored segment: the MPD's availabilityStartTime.</summary>
    public DateTimeOffset AvailabilityStart()
    {
        if (ContinuedFrom is { } origin) return origin.AvailabilityStart;
        var lead = AllTimelines().FirstOrDefault(t => t.Entries.Count > 0);
        return lead is null ? Time.GetUtcNow() : lead.Entries[0].ProgramDateTime;
    }

    /// <summary>The leader's first presentation time (its timescale), what DASH Period@start counts from; null before its first segment.</summary>
    public long? PresentationOrigin() =>
        ContinuedFrom?.PresentationOrigin ?? (Leader is { Entries.Count: > 0 } lead ? lead.Entries[0].PresentationStart : null);

    /// <summary>
    /// The id of the MPD Period that segment <paramref name="number"/> belongs to, as <see cref="DashManifestWriter"/>
    /// numbers them: one Period from the leader's first segment, one more at each discontinuity of any rendition.
    /// </summary>
    public int PeriodIdAt(long number) => Math.Max(0, PeriodStarts().Count(s => s <= number) - 1) + (ContinuedFrom?.PeriodIdBase ?? 0);

    /// <summary>
    /// The leader's presentation time (its timescale) where the Period holding segment <paramref name="number"/> starts:
    /// a continued broadcast's first Period keeps the start it had on the node that began it.
    /// </summary>
    public long PeriodStartAt(long number)
    {
        if (Leader is not { Entries.Count: > 0 } lead) return 0;
        long first = PeriodStarts().Where(s => s <= number).DefaultIfEmpty(lead.Entries[0].Number).Max();
        if (ContinuedFrom is { } origin && first == lead.Entries[0].Number) return origin.FirstPeriodStart;
        return lead.Entries.FirstOrDefault(e => e.Number >= first)?.PresentationStart ?? lead.Entries[0].PresentationStart;
    }

    private SortedSet<long> PeriodStarts()
    {
        var starts = new SortedSet<long>();
        if (Leader is { Entries.Count: > 0 } lead) starts.Add(lead.Entries[0].Number);
        foreach (var t in AllTimelines())
            foreach (var e in t.Entries)
                if (e.Segment.Discontinuity) starts.Add(e.Number);
        return starts;
    }

    /// <summary>MPD settings of this broadcast: its availability starts at the first stored segment's wall clock.</summary>
    public MpdSettings MpdSettings(long firstNumber, bool isStatic, string prefix)
    {
        return new MpdSettings(BroadcastId, isStatic, AvailabilityStart(), Time.GetUtcNow(), Options.SegmentSeconds, WindowSeconds,
            Options.UtcTimingUrl, firstNumber, prefix,
            Captions, Breaks.Placed, ContinuedFrom?.PresentationOrigin, ContinuedFrom?.PeriodIdBase ?? 0, ContinuedFrom?.FirstPeriodStart,
            ManifestProtection());
    }

    /// <summary>What the manifests say of the broadcast's encryption (its KIDs and DRM systems, never a key), or null. A
    /// rotated broadcast's later keys are named from their first segments on; made again only when a period was added.</summary>
    internal ManifestProtection? ManifestProtection()
    {
        if (Protection is not { } p) return null;
        int periods = Keys!.Periods.Count;
        if (_manifestProtection is { } made && _manifestPeriods == periods) return made;
        var rotations = new List<ManifestKeyPeriod>(Math.Max(0, periods - 1));
        for (int i = 1; i < periods; i++)
            rotations.Add(new ManifestKeyPeriod(Keys.Periods[i].FirstSegment, ManifestKey(Keys.Periods[i].Protection)));
        _manifestPeriods = periods;
        return _manifestProtection = ManifestKey(p) with { Rotations = rotations, Rotated = p.Rotation is not null };
    }

    private ManifestProtection? _manifestProtection;
    private int _manifestPeriods = -1;

    private static ManifestProtection ManifestKey(BroadcastProtection p) =>
        new(Cmaf.Encryption.EncryptionSchemes.Name(p.Scheme), p.Key.Id.ToUuidString(),
            p.Systems.Select(s => new ManifestDrmSystem(Cmaf.Encryption.KeyId.UuidText(s.SystemId), Convert.ToBase64String(s.Pssh.Span)))
                .ToArray(), p.ClearKeyLicenseUrl, p.KeyUrl) { HlsKeys = p.HlsKeys };

    /// <summary>Puts a manifest and tells who waits for it; returns the bytes stored.</summary>
    public async Task<long> PutManifestAsync(string key, string text, string contentType, string cacheControl, long lastNumber,
        CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await Store.PutAsync(key, bytes, contentType, cacheControl, cancellationToken).ConfigureAwait(false);
        ManifestUpdated(new ManifestUpdated(Channel, key, lastNumber));
        return bytes.Length;
    }
}

/// <summary>Where a continued broadcast's timeline began (see <see cref="PackagedBroadcast.ContinuedFrom"/>).</summary>
/// <param name="AvailabilityStart">The MPD's availabilityStartTime: the first segment's wall clock.</param>
/// <param name="PresentationOrigin">The leader's first presentation time, in its timescale.</param>
/// <param name="PeriodIdBase">The id of the Period the restored window begins in.</param>
/// <param name="FirstPeriodStart">That Period's start: the leader's presentation time (its timescale) of its first segment.</param>
public sealed record BroadcastOrigin(DateTimeOffset AvailabilityStart, long PresentationOrigin, int PeriodIdBase, long FirstPeriodStart);
