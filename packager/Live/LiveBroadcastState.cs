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
/// the end. It holds the window only, never the whole broadcast, so it stays a few kilobytes however long the show.
/// </summary>
public sealed record LiveBroadcastState(
    int Version,
    string BroadcastId,
    DateTimeOffset UpdatedAt,
    bool Ended,
    BroadcastOrigin Origin,
    IReadOnlyList<RenditionState> Renditions)
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
    public static string Key(string channel) => $"{channel}/live-state.json";

    /// <summary>The newest segment number of any rendition.</summary>
    [JsonIgnore]
    public long LastNumber => Renditions.SelectMany(r => r.Segments).Select(s => s.Number).DefaultIfEmpty(0).Max();

    /// <summary>Where the stored media ends on the 90 kHz timeline (the latest segment end of any rendition).</summary>
    [JsonIgnore]
    public long MediaEnd => Renditions.Where(r => r.Segments.Count > 0)
        .Select(r => Media.Timescales.Rescale(r.Segments[^1].Start + r.Segments[^1].Duration, r.Timescale, Media.Timescales.Video)).DefaultIfEmpty(0).Max();

    /// <summary>The wall clock at which the stored media ends (its last segment's program date-time plus its duration).</summary>
    [JsonIgnore]
    public DateTimeOffset MediaEndWallClock => Renditions.Where(r => r.Segments.Count > 0)
        .Select(r => r.Segments[^1].ProgramDateTime + TimeSpan.FromTicks((long)((Int128)r.Segments[^1].Duration * TimeSpan.TicksPerSecond / r.Timescale)))
        .DefaultIfEmpty(UpdatedAt).Max();

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>
    /// Reads a state object: null with <paramref name="error"/> set when it is not one this code wrote (bad JSON,
    /// another version, an invalid broadcast id or rendition name, numbers out of order, a zero timescale).
    /// </summary>
    public static LiveBroadcastState? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        error = null;
        if (json.Length > MaxBytes)
        {
            error = $"state object of {json.Length} bytes is larger than {MaxBytes}";
            return null;
        }
        LiveBroadcastState? state;
        try
        {
            state = JsonSerializer.Deserialize<LiveBroadcastState>(json, Json);
        }
        catch (JsonException ex)
        {
            error = $"not JSON of the live state: {ex.Message}";
            return null;
        }
        if (state is null) { error = "empty state"; return null; }
        if (state.Version != CurrentVersion) { error = $"version {state.Version}, expected {CurrentVersion}"; return null; }
        if (!StoreKeys.IsValidName(state.BroadcastId)) { error = "invalid broadcast id"; return null; }
        if (state.Renditions is null || state.Renditions.Count == 0) { error = "no renditions"; return null; }
        if (state.Origin is null || state.Origin.PeriodIdBase < 0) { error = "no origin"; return null; }
        foreach (var r in state.Renditions)
        {
            if (r is null || !StoreKeys.IsValidName(r.Name)) { error = "invalid rendition name"; return null; }
            if (r.Timescale <= 0) { error = $"rendition {r.Name}: timescale {r.Timescale}"; return null; }
            if (r.Segments is null || r.LastInitVersion < -1 || r.DiscontinuitiesBefore < 0) { error = $"rendition {r.Name}: malformed"; return null; }
            long previous = 0;
            foreach (var s in r.Segments)
            {
                if (s is null || s.Number <= previous || s.Duration < 0 || s.ByteSize < 0 || s.SampleCount < 0 || s.InitVersion < 0 || s.InitVersion > r.LastInitVersion)
                {
                    error = $"rendition {r.Name}: segment list out of order or malformed";
                    return null;
                }
                previous = s.Number;
            }
        }
        return state;
    }
}

/// <summary>A broadcast another node left unfinished, continued here from segment <paramref name="FirstNumber"/>.</summary>
public sealed record BroadcastContinuation(LiveBroadcastState State, long FirstNumber);

/// <summary>One rendition of a <see cref="LiveBroadcastState"/>: its window and what it needs to number on.</summary>
/// <param name="LastInitVersion">The newest init segment version stored (-1: none); a continuation starts above it so no init key is reused.</param>
/// <param name="DiscontinuitiesBefore">Discontinuities of segments that already left the window (EXT-X-DISCONTINUITY-SEQUENCE's base).</param>
public sealed record RenditionState(string Name, bool Video, int Timescale, int LastInitVersion, long DiscontinuitiesBefore, IReadOnlyList<SegmentState> Segments);

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
    long PresentationEndOffset);
