using System.Text.Json;
using System.Text.Json.Serialization;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// What another node needs to continue a live broadcast whose packaging node died (no ENDLIST written): the broadcast
/// id, each rendition's live window as its playlists list it (numbers, media times, durations, sizes, discontinuities,
/// init versions, program date-times), the discontinuities that already left the window and where the broadcast's
/// timeline began (the MPD's availabilityStartTime, Period@start origin and Period ids stay as players saw them). Written by
/// <see cref="LiveStateWriter"/> beside the manifests after every segment batch (<see cref="Key"/>), marked ended at
/// the end. It holds the window only, never the whole broadcast, so it stays a few kilobytes however long the show; a
/// recorded broadcast's state also lists the segments its <see cref="RecordingJournal"/> has not yet stored (at most a
/// chunk more), from <see cref="JournaledThrough"/> + 1.
/// </summary>
/// <param name="JournaledThrough">The segment numbers up to this one are in the recording journal's chunks (0: none).</param>
/// <param name="Breaks">The broadcast's ad breaks so far, oldest first (the newest may still run); null in a state written
/// before they were kept.</param>
/// <param name="Protection">How the broadcast is encrypted (its scheme and KID, never its key), so a node that continues it
/// encrypts with the key its players already hold; null when clear, or in a state written before it was kept.</param>
public sealed record LiveBroadcastState(
    int Version,
    string BroadcastId,
    DateTimeOffset UpdatedAt,
    bool Ended,
    BroadcastOrigin Origin,
    IReadOnlyList<RenditionState> Renditions,
    long JournaledThrough = 0,
    IReadOnlyList<BreakState>? Breaks = null,
    ProtectionState? Protection = null)
{
    /// <summary>The format this code writes and reads; another version is not resumed.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Largest state object read back; a bigger one is refused as malformed rather than parsed.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The store key of a channel's state: beside its master playlist.</summary>
    public static string Key(string channel) => StoreKeys.LiveState(channel);

    /// <summary>The newest segment number of any rendition.</summary>
    [JsonIgnore]
    public long LastNumber => Renditions.SelectMany(r => r.Segments).Select(s => s.Number).DefaultIfEmpty(0).Max();

    /// <summary>Where the stored media ends on the 90 kHz timeline (the latest segment end of any rendition).</summary>
    [JsonIgnore]
    public long MediaEnd => Renditions.Where(r => r.Segments.Count > 0)
        .Select(r => Media.Timescales.Rescale(r.Segments[^1].Start + r.Segments[^1].Duration, r.Timescale, Media.Timescales.Video)).DefaultIfEmpty(0)
        .Max();

    /// <summary>The wall clock at which the stored media ends (its last segment's program date-time plus its duration).</summary>
    [JsonIgnore]
    public DateTimeOffset MediaEndWallClock => Renditions.Where(r => r.Segments.Count > 0)
        .Select(r => r.Segments[^1].ProgramDateTime
            + TimeSpan.FromTicks((long)((Int128)r.Segments[^1].Duration * TimeSpan.TicksPerSecond / r.Timescale)))
        .DefaultIfEmpty(UpdatedAt).Max();

    public byte[] ToJson() => ToJson(this);

    /// <summary>The bytes of a stored object of this folder's formats, in the one JSON shape they are read back with.</summary>
    internal static byte[] ToJson<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);

    /// <summary>
    /// Reads a state object: null with <paramref name="error"/> set when it is not one this code wrote (bad JSON,
    /// another version, an invalid broadcast id or rendition name, numbers out of order, a zero timescale).
    /// </summary>
    public static LiveBroadcastState? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        var state = ReadBounded<LiveBroadcastState>(json, "state", "the live state", out error);
        if (state is null) return null;
        if (state.Version != CurrentVersion) { error = $"version {state.Version}, expected {CurrentVersion}"; return null; }
        if (!StoreKeys.IsValidName(state.BroadcastId)) { error = "invalid broadcast id"; return null; }
        if (state.Renditions is null || state.Renditions.Count == 0) { error = "no renditions"; return null; }
        if (state.Origin is null || state.Origin.PeriodIdBase < 0) { error = "no origin"; return null; }
        if (state.JournaledThrough < 0 || state.JournaledThrough % RecordingJournalChunk.SegmentsPerChunk != 0) { error = "journaled through " +
            $"{state.JournaledThrough}"; return null; }
        foreach (var r in state.Renditions)
            if (RenditionState.Invalid(r) is { } why) { error = why; return null; }
        if (state.Breaks is { } breaks && BreakState.Invalid(breaks) is { } wrong) { error = wrong; return null; }
        if (state.Protection is { } protection && ProtectionState.Invalid(protection) is { } bad) { error = bad; return null; }
        return state;
    }

    /// <summary>
    /// Deserialises a stored object of this folder's formats (the live state, a journal chunk): null with
    /// <paramref name="error"/> set when it is over <see cref="MaxBytes"/>, not JSON of <typeparamref name="T"/>, or empty.
    /// </summary>
    internal static T? ReadBounded<T>(ReadOnlySpan<byte> json, string noun, string what, out string? error) where T : class
    {
        error = null;
        if (json.Length > MaxBytes)
        {
            error = $"{noun} of {json.Length} bytes is larger than {MaxBytes}";
            return null;
        }
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, Json);
        }
        catch (JsonException ex)
        {
            error = $"not JSON of {what}: {ex.Message}";
            return null;
        }
        if (value is null) error = $"empty {noun}";
        return value;
    }
}

/// <summary>A broadcast another node left unfinished, continued here from segment <paramref name="FirstNumber"/>.</summary>
public sealed record BroadcastContinuation(LiveBroadcastState State, long FirstNumber);

/// <summary>
/// A protected broadcast's encryption as its live state keeps it: the scheme ("cenc", "cbcs" or "aes-128") and the
/// KID as 32 hex digits. The key itself stays with the key provider; a continuing node asks it for this KID.
/// </summary>
/// <param name="Periods">A rotated broadcast's later key periods still in force for a segment the state lists (the one the
/// oldest listed segment is under, and every one after it), oldest first; null when the first key covers them all (then not
/// written, so a state without rotation is as before), or in a state written before they were kept. A continuing node names
/// their keys in its playlists before the segments it restores, and goes on under the last.</param>
public sealed record ProtectionState(string Scheme, string KeyId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<KeyPeriodState>? Periods = null)
{
    /// <summary>The most later periods a state names (a period holds at least one segment, and a window far fewer).</summary>
    public const int MaxPeriods = 4096;

    public static ProtectionState Of(BroadcastProtection protection) => Of(protection, [], 0);

    /// <summary>The state of a broadcast whose key schedule decided <paramref name="periods"/>, listing segments from
    /// <paramref name="firstListed"/> on.</summary>
    internal static ProtectionState Of(BroadcastProtection protection, IReadOnlyList<KeyPeriod> periods, long firstListed)
    {
        ArgumentNullException.ThrowIfNull(protection);
        List<KeyPeriodState>? later = null;
        for (int i = 1; i < periods.Count; i++)
        {
            // A period ends where the next begins: one that ended before the oldest listed segment names nothing listed.
            if (i + 1 < periods.Count && periods[i + 1].FirstSegment <= firstListed) continue;
            (later ??= []).Add(new KeyPeriodState(periods[i].FirstSegment, Hex(periods[i].Protection.Key.Id)));
        }
        return new ProtectionState(Cmaf.Encryption.EncryptionSchemes.Name(protection.Scheme), Hex(protection.Key.Id), later);
    }

    private static string Hex(Cmaf.Encryption.KeyId kid) => Convert.ToHexStringLower(kid.ToArray());

    /// <summary>The scheme, or null for a word this code does not write.</summary>
    public Cmaf.Encryption.EncryptionScheme? ToScheme() => Cmaf.Encryption.EncryptionSchemes.Parse(Scheme);

    /// <summary>The KID's 16 bytes.</summary>
    public Cmaf.Encryption.KeyId ToKeyId() => Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString(KeyId));

    /// <summary>Why a state's protection cannot be continued, or null when it can.</summary>
    public static string? Invalid(ProtectionState p) =>
        p.ToScheme() is null ? $"protection scheme '{p.Scheme}'"
        : !IsKeyId(p.KeyId) ? "protection key id is not 32 hex digits"
        : p.Periods is { } periods ? InvalidPeriods(periods)
        : null;

    private static string? InvalidPeriods(IReadOnlyList<KeyPeriodState> periods)
    {
        if (periods.Count > MaxPeriods) return $"{periods.Count} key periods, more than {MaxPeriods}";
        for (int i = 0; i < periods.Count; i++)
        {
            if (periods[i] is null || !IsKeyId(periods[i].KeyId)) return "a key period's key id is not 32 hex digits";
            if (periods[i].FirstSegment < 1 || (i > 0 && periods[i].FirstSegment <= periods[i - 1].FirstSegment))
                return "key periods out of order";
        }
        return null;
    }

    private static bool IsKeyId(string? hex) => hex is { Length: 32 } && hex.All(char.IsAsciiHexDigit);
}

/// <summary>One later key period of a rotated broadcast: from segment <paramref name="FirstSegment"/> on, its media is under
/// the key <paramref name="KeyId"/> (32 hex digits) names.</summary>
public sealed record KeyPeriodState(long FirstSegment, string KeyId)
{
    /// <summary>The KID's 16 bytes.</summary>
    public Cmaf.Encryption.KeyId ToKeyId() => Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString(KeyId));
}

/// <summary>One rendition of a <see cref="LiveBroadcastState"/>: its window and what it needs to number on.</summary>
/// <param name="LastInitVersion">The newest init segment version stored (-1: none); a continuation starts above it so no init key is reused.</param>
/// <param name="DiscontinuitiesBefore">Discontinuities of segments that already left the window (EXT-X-DISCONTINUITY-SEQUENCE's base).</param>
/// <param name="Tracks">The decoder description of each init version the segments name, so restored entries describe the
/// media they hold (null in a state written before it was kept: they then take the new publish's).</param>
public sealed record RenditionState(string Name, bool Video, int Timescale, int LastInitVersion, long DiscontinuitiesBefore,
    IReadOnlyList<SegmentState> Segments,
    IReadOnlyList<TrackState>? Tracks = null)
{
    /// <summary>The description of the media of init version <paramref name="initVersion"/>, or null when none was kept.</summary>
    internal Media.MediaTrack? TrackFor(int initVersion)
    {
        foreach (var t in Tracks ?? []) if (t.InitVersion == initVersion) return t.ToTrack(Video);
        return null;
    }

    /// <summary>The descriptions of the init versions <paramref name="entries"/> name, one per version.</summary>
    internal static List<TrackState> TracksOf(IEnumerable<Manifests.TimelineEntry> entries)
    {
        var tracks = new List<TrackState>();
        foreach (var e in entries)
            if (!tracks.Exists(t => t.InitVersion == e.Segment.InitVersion)) tracks.Add(TrackState.Of(e.Segment.InitVersion, e.Segment.Track));
        return tracks;
    }

    /// <summary>Why a rendition read from the store is not one this code wrote (a name, a timescale, numbers out of order), or null.</summary>
    public static string? Invalid(RenditionState? r)
    {
        if (r is null || !StoreKeys.IsValidName(r.Name)) return "invalid rendition name";
        if (r.Timescale <= 0) return $"rendition {r.Name}: timescale {r.Timescale}";
        if (r.Segments is null || r.LastInitVersion < -1 || r.DiscontinuitiesBefore < 0) return $"rendition {r.Name}: malformed";
        long previous = 0;
        foreach (var s in r.Segments)
        {
            if (s is null || s.Number <= previous || s.Duration < 0 || s.ByteSize < 0 || s.SampleCount < 0 || s.InitVersion < 0
                || s.InitVersion > r.LastInitVersion)
                return $"rendition {r.Name}: segment list out of order or malformed";
            previous = s.Number;
        }
        foreach (var t in r.Tracks ?? [])
            if (t is null || t.InitVersion < 0 || t.InitVersion > r.LastInitVersion || TrackState.Invalid(t, r.Video) is not null)
                return $"rendition {r.Name}: track description malformed " +
                    $"({(t is null ? "null" : TrackState.Invalid(t, r.Video) ?? $"init version {t.InitVersion}")})";
        return null;
    }
}

/// <summary>
/// What the manifests say of the media of one init version (RFC 6381 codecs, picture size, frame rate, sample rate and
/// channels) and its decoder configuration record (base64: avcC, hvcC, av1C or the AAC AudioSpecificConfig).
/// </summary>
public sealed record TrackState(int InitVersion, string Codec, string CodecString, string? DecoderConfig, int Width, int Height,
    int FrameRateNumerator, int FrameRateDenominator, int SampleRate, int Channels)
{
    /// <summary>Largest decoder configuration kept; real ones are tens of bytes (an avcC with its SPS and PPS).</summary>
    public const int MaxDecoderConfigBytes = 4096;

    /// <summary>The description of <paramref name="track"/>, the media of init version <paramref name="initVersion"/>.</summary>
    public static TrackState Of(int initVersion, Media.MediaTrack track) => track switch
    {
        Media.VideoTrack v => new TrackState(initVersion, v.Codec.ToString(), v.CodecString, Convert.ToBase64String(v.DecoderConfig.Span), v.Width,
            v.Height,
            v.FrameRate?.Numerator ?? 0, v.FrameRate?.Denominator ?? 0, 0, 0),
        Media.AudioTrack a => new TrackState(initVersion, a.Codec.ToString(), a.CodecString, Convert.ToBase64String(a.DecoderConfig.Span), 0, 0, 0, 0,
            a.SampleRate, a.Channels),
        _ => throw new ArgumentException($"a {track.GetType().Name} has no stored description", nameof(track)),
    };

    /// <summary>The track again (a video track when <paramref name="video"/>); null when it does not describe one.</summary>
    public Media.MediaTrack? ToTrack(bool video)
    {
        if (Invalid(this, video) is not null) return null;
        var codec = Enum.Parse<Media.Codec>(Codec);
        byte[] config = DecoderConfig is null ? [] : Convert.FromBase64String(DecoderConfig);
        return video
            ? new Media.VideoTrack(codec, config, CodecString, Width, Height,
                frameRate: FrameRateNumerator > 0 && FrameRateDenominator > 0 ? new Media.FrameRate(FrameRateNumerator, FrameRateDenominator) : null)
            : new Media.AudioTrack(codec, config, CodecString, SampleRate, Channels);
    }

    /// <summary>Why a description read from the store is not one this code wrote, or null.</summary>
    internal static string? Invalid(TrackState t, bool video)
    {
        if (!Enum.TryParse<Media.Codec>(t.Codec, ignoreCase: false, out var codec) || !Enum.IsDefined(codec)
            || (video ? codec is not (Media.Codec.H264 or Media.Codec.H265 or Media.Codec.Av1)
                : codec is not (Media.Codec.Aac or Media.Codec.Mp3 or Media.Codec.Opus)))
            return $"codec '{t.Codec}'";
        if (string.IsNullOrEmpty(t.CodecString) || t.CodecString.Length > 64 || !t.CodecString.All(c => char.IsAsciiLetterOrDigit(c) || c == '.'))
            return "codecs string";
        if (t.DecoderConfig is { } config
            && (config.Length > MaxDecoderConfigBytes * 4 / 3 + 4 || !Convert.TryFromBase64String(config, new byte[config.Length], out _)))
            return "decoder configuration";
        if (video && (t.Width is < 0 or > 16384 || t.Height is < 0 or > 16384 || t.FrameRateNumerator < 0
            || t.FrameRateDenominator < 0)) return "picture size";
        if (!video && (t.SampleRate is <= 0 or > 384_000 || t.Channels is <= 0 or > 64)) return "sample rate or channels";
        return null;
    }
}

/// <summary>One segment of a rendition's window, as the manifests list it.</summary>
public sealed record SegmentState(
    long Number,
    long Start,
    long Duration,
    long ByteSize,
    int SampleCount,
    bool StartsWithKeyframe,
    bool Discontinuity,
    int InitVersion,
    DateTimeOffset ProgramDateTime,
    long PresentationStartOffset,
    long PresentationEndOffset)
{
    /// <summary>A timeline entry as the store keeps it.</summary>
    internal static SegmentState Of(Manifests.TimelineEntry e)
    {
        var s = e.Segment;
        return new SegmentState(s.Number, s.StartTime, s.Duration, s.ByteSize, s.SampleCount, s.StartsWithKeyframe, s.Discontinuity, s.InitVersion,
            e.ProgramDateTime, s.PresentationStartOffset, s.PresentationEndOffset);
    }

    /// <summary>
    /// Back into a timeline entry of <paramref name="timeline"/>. The store keeps no codec configuration, so the entry takes
    /// <paramref name="track"/>, the rendition's current decoder description; the init segment it names is still in the store.
    /// </summary>
    internal Segmenting.SegmentDescription ToDescription(Manifests.RenditionTimeline timeline, int timescale, string broadcastId,
        Media.MediaTrack track) =>
        new(timeline.Name, timeline.Kind, Number, Start, Duration, timescale, ByteSize, StartsWithKeyframe, Discontinuity,
            StoreKeys.InitName(broadcastId, InitVersion), track, SampleCount, PresentationStartOffset,
            PresentationEndOffset) { InitVersion = InitVersion };
}

/// <summary>
/// One ad break as the state keeps it (<see cref="Manifests.AdBreak"/>): the continuing node marks it in the playlists and
/// the MPD as the dead node did, ends one still running at its planned boundary, and keeps it in the recording.
/// </summary>
public sealed record BreakState(uint EventId, long StartNumber, DateTimeOffset StartDate, long StartTime, long StartPresentation, int Timescale,
    long PlannedDuration, string OutSection, long? EndNumber, long? Duration, string? InSection)
{
    /// <summary>Largest splice_info_section (SCTE 35 limits a section to 4096 bytes).</summary>
    private const int MaxSectionBytes = 4096;

    public static BreakState Of(Manifests.AdBreak b) => new(b.EventId, b.StartNumber, b.StartDate, b.StartTime, b.StartPresentation, b.Timescale,
        b.PlannedDuration, Convert.ToBase64String(b.OutSection.Span), b.EndNumber, b.Duration,
        b.InSection.IsEmpty ? null : Convert.ToBase64String(b.InSection.Span));

    public Manifests.AdBreak ToBreak() => new(EventId, StartNumber, StartDate, StartTime, StartPresentation, Timescale, PlannedDuration,
        Convert.FromBase64String(OutSection))
    {
        EndNumber = EndNumber,
        Duration = Duration,
        InSection = InSection is null ? ReadOnlyMemory<byte>.Empty : Convert.FromBase64String(InSection),
    };

    /// <summary>Why a list of breaks read from the store is not one this code wrote (order, overlap, numbers, sections), or null.</summary>
    public static string? Invalid(IReadOnlyList<BreakState?> breaks)
    {
        long previousEnd = 0;
        for (int i = 0; i < breaks.Count; i++)
        {
            if (breaks[i] is not { } b) return $"break {i}: missing";
            bool ended = b.EndNumber is not null;
            if (b.StartNumber < 1 || b.StartNumber < previousEnd || b.Timescale <= 0 || b.PlannedDuration <= 0 || b.StartTime < 0
                || ended != (b.Duration is not null) || (ended && (b.EndNumber <= b.StartNumber || b.Duration < 0))
                || (!ended && i != breaks.Count - 1))
                return $"break {i}: numbers or times out of order";
            if (!Section(b.OutSection) || (b.InSection is not null && !Section(b.InSection))
                || (ended && b.InSection is null)) return $"break {i}: splice sections";
            previousEnd = b.EndNumber ?? long.MaxValue;
        }
        return null;
    }

    private static bool Section(string? base64) =>
        base64 is { Length: > 0 and <= (MaxSectionBytes * 4 / 3) + 4 } && Convert.TryFromBase64String(base64, new byte[base64.Length], out int n)
            && n > 0;
}
