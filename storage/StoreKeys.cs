using System.Globalization;
namespace Broadcast.Storage;

/// <summary>
/// Object keys (URL paths below <c>/live/</c>) and their validation. Layout of one broadcast:
/// <code>
/// {channel}/master.m3u8                              live HLS master
/// {channel}/manifest.mpd                             live DASH MPD (static after unpublish)
/// {channel}/{rendition}/index.m3u8                   live media playlist
/// {channel}/{rendition}/{broadcastId}-init[-N].mp4   CMAF header; -N after the Nth decoder-config change
/// {channel}/{rendition}/{broadcastId}-{number}.m4s   CMAF segment
/// {channel}/{rendition}/{broadcastId}.m3u8           recording: VOD media playlist of the whole broadcast
/// {channel}/recordings/{broadcastId}/master.m3u8     recording: master naming ../../{rendition}/{broadcastId}.m3u8
/// {channel}/recordings/{broadcastId}/manifest.mpd    recording: static MPD naming ../../{rendition}/...
/// {channel}/clips/{clipId}/master.m3u8               clip: master naming {rendition}.m3u8 beside it
/// {channel}/clips/{clipId}/{rendition}.m3u8          clip: VOD media playlist naming ../../{rendition}/{broadcastId}-{number}.m4s
/// </code>
/// broadcastId is the UTC start (20261121T054512Z): a channel's next broadcast never reuses an immutable URL.
/// </summary>
public static class StoreKeys
{
    public const string SourceRendition = "source";
    public const string AudioRendition = "audio";

    /// <summary>The rendition of an encoder's extra video track (multitrack), by its track id: <c>track1</c>, <c>track2</c>…
    /// The default track (id 0) is the <see cref="SourceRendition"/>.</summary>
    public static string EncoderTrackRendition(int trackId) => string.Create(CultureInfo.InvariantCulture, $"track{trackId}");

    /// <summary>Throws <see cref="ArgumentException"/> unless the key is a safe relative path.</summary>
    public static void Validate(string key)
    {
        if (!IsValid(key, out var reason)) throw new ArgumentException($"Invalid store key '{key}': {reason}.", nameof(key));
    }

    /// <summary>
    /// Keys are relative paths of segments made of [A-Za-z0-9._-], separated by '/'. No empty segment (so no
    /// leading '/', no '//'), no segment starting with '.' (so no '..' traversal and no hidden files, which the
    /// filesystem store uses for its own bookkeeping), no backslash.
    /// </summary>
    public static bool IsValid(string? key, out string reason)
    {
        if (string.IsNullOrEmpty(key)) { reason = "empty"; return false; }
        if (key.Length > 1024) { reason = "longer than 1024 characters"; return false; }
        int segmentStart = 0;
        for (int i = 0; i <= key.Length; i++)
        {
            char c = i < key.Length ? key[i] : '/';
            if (c == '/')
            {
                if (i == segmentStart) { reason = i == 0 ? "absolute path" : "empty path segment"; return false; }
                if (key[segmentStart] == '.') { reason = "path segment starting with '.'"; return false; }
                segmentStart = i + 1;
                continue;
            }
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-';
            if (!ok) { reason = c == '\\' ? "backslash" : $"character U+{(int)c:X4} outside [A-Za-z0-9._-/]"; return false; }
        }
        reason = "";
        return true;
    }

    /// <summary>A channel or rendition name usable as one key segment.</summary>
    public static bool IsValidName(string? name) => !string.IsNullOrEmpty(name) && !name.Contains('/') && IsValid(name, out _);

    public static string BroadcastId(DateTimeOffset start) =>
        start.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The file name of every HLS master: a channel's live one and each recording's.</summary>
    public const string MasterName = "master.m3u8";

    public static string Master(string channel) => $"{channel}/{MasterName}";

    /// <summary>Whether <paramref name="key"/> is an HLS master (<see cref="Master"/> or <see cref="RecordingMaster"/>).</summary>
    public static bool IsMaster(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.EndsWith("/" + MasterName, StringComparison.Ordinal);
    }

    public static string Mpd(string channel) => $"{channel}/manifest.mpd";

    /// <summary>The live channel's latest thumbnail (and, once it ends, its poster).</summary>
    public static string Thumbnail(string channel) => $"{channel}/thumbnail.jpg";

    public static string MediaPlaylist(string channel, string rendition) => $"{channel}/{rendition}/index.m3u8";

    /// <summary>
    /// The delta update (RFC 8216bis 6.2.5.1) of a rewind window's live media playlist, stored beside it by the packager
    /// so an origin answers <c>_HLS_skip=YES</c> by reading a few hundred bytes instead of the whole window.
    /// </summary>
    public static string MediaPlaylistDelta(string channel, string rendition) => $"{channel}/{rendition}/{DeltaPlaylistName}";

    /// <summary>The stored delta update's key for a live media playlist's key; null for any other key.</summary>
    public static string? MediaPlaylistDeltaOf(string mediaPlaylistKey) =>
        mediaPlaylistKey.EndsWith("/index.m3u8", StringComparison.Ordinal)
            ? string.Concat(mediaPlaylistKey.AsSpan(0, mediaPlaylistKey.Length - "index.m3u8".Length), DeltaPlaylistName)
            : null;

    private const string DeltaPlaylistName = "index-skip.m3u8";

    public static string InitName(string broadcastId, int initVersion) =>
        initVersion == 0 ? $"{broadcastId}-init.mp4" : $"{broadcastId}-init-{initVersion}.mp4";

    public static string Init(string channel, string rendition, string broadcastId, int initVersion) =>
        $"{channel}/{rendition}/{InitName(broadcastId, initVersion)}";

    public static string Segment(string channel, string rendition, string broadcastId, long number) =>
        $"{channel}/{rendition}/{broadcastId}-{number}.m4s";

    public static string VodPlaylist(string channel, string rendition, string broadcastId) => $"{channel}/{rendition}/{broadcastId}.m3u8";

    public static string RecordingMaster(string channel, string broadcastId) => $"{channel}/recordings/{broadcastId}/{MasterName}";

    public static string RecordingMpd(string channel, string broadcastId) => $"{channel}/recordings/{broadcastId}/manifest.mpd";

    /// <summary>A recording's poster: the broadcast's last live thumbnail, kept beside its manifests.</summary>
    public static string RecordingPoster(string channel, string broadcastId) => $"{channel}/recordings/{broadcastId}/poster.jpg";

    /// <summary>The live state of a channel's broadcast, beside its master playlist: for another ingest node, never for viewers.</summary>
    public static string LiveState(string channel) => $"{channel}/{LiveStateName}";

    private const string LiveStateName = "live-state.json";

    /// <summary>Whether <paramref name="key"/> names a <see cref="LiveState"/> (its last segment is the state's name).</summary>
    public static bool IsLiveState(string key) =>
        key.EndsWith(LiveStateName, StringComparison.Ordinal) && (key.Length == LiveStateName.Length || key[^(LiveStateName.Length + 1)] == '/');

    /// <summary>Chunk <paramref name="index"/> of a recorded broadcast's journal (under its recording): for ingest nodes,
    /// never for viewers.</summary>
    public static string RecordingJournal(string channel, string broadcastId, long index) =>
        string.Create(CultureInfo.InvariantCulture, $"{channel}/recordings/{broadcastId}/journal-{index}.json");

    /// <summary>
    /// The operator's content-steering changes (weights, drains), shared by every node that steers players. At the root:
    /// a channel's objects are all under <c>{channel}/</c>, so no channel's key or deletion can reach it.
    /// </summary>
    public const string SteeringOverrides = "steering-overrides.json";

    /// <summary>
    /// Whether <paramref name="key"/> is one of the objects the nodes keep for each other (<see cref="LiveState"/>,
    /// <see cref="RecordingJournal"/>, <see cref="SteeringOverrides"/>): the origin answers 404 for them, as for anything
    /// no manifest names.
    /// </summary>
    public static bool IsInternal(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.EndsWith(".json", StringComparison.Ordinal)) return false;
        if (key == SteeringOverrides) return true;
        if (IsLiveState(key)) return true;
        string name = key[(key.LastIndexOf('/') + 1)..];
        return name.StartsWith("journal-", StringComparison.Ordinal) && key.Contains("/recordings/", StringComparison.Ordinal);
    }

    /// <summary>The folder below a channel's that holds its clips; no rendition may take its name.</summary>
    public const string ClipsFolder = "clips";

    /// <summary>The folder below a channel's that holds its recordings' manifests; no rendition may take its name.</summary>
    public const string RecordingsFolder = "recordings";

    /// <summary>Whether a name below a channel's folder is one of the channel's own folders (recordings, clips), not a rendition's.</summary>
    public static bool IsChannelFolder(ReadOnlySpan<char> name) => name.SequenceEqual(RecordingsFolder) || name.SequenceEqual(ClipsFolder);

    /// <summary>A clip's folder: everything of the clip but the segments it names, which stay where the broadcast stored them.</summary>
    public static string ClipFolder(string channel, string clipId) => $"{channel}/{ClipsFolder}/{clipId}/";

    public static string ClipMaster(string channel, string clipId) => $"{channel}/{ClipsFolder}/{clipId}/{MasterName}";

    /// <summary>A clip's MP4 download, made in the background after the clip.</summary>
    public static string ClipDownload(string channel, string clipId) => $"{channel}/{ClipsFolder}/{clipId}/clip.mp4";

    /// <summary>
    /// A rendition's clip playlist as it was made, naming only stored segments, kept when its ends are cut: what the
    /// download is made from and what a delete weighs, whatever the cut playlist now names.
    /// </summary>
    public static string ClipStoredSegments(string channel, string clipId, string rendition) =>
        $"{channel}/{ClipsFolder}/{clipId}/{rendition}{ClipStoredSegmentsExtension}";

    /// <summary>The extension of <see cref="ClipStoredSegments"/>: not <c>.m3u8</c>, so no player takes it for the clip.</summary>
    public const string ClipStoredSegmentsExtension = ".segments";

    public static string ClipMediaPlaylist(string channel, string clipId, string rendition) => $"{channel}/{ClipsFolder}/{clipId}/{rendition}.m3u8";

    /// <summary>From a clip's folder back to the channel folder (URIs in clip playlists are relative).</summary>
    public const string ClipToChannel = "../../";

    /// <summary>From the recording folder back to the channel folder (URIs in recording manifests are relative).</summary>
    public const string RecordingToChannel = "../../";

    /// <summary>
    /// "{channel}/recordings/{broadcastId}/master.m3u8" (or the origin path "/live/" + that) → (channel, broadcastId);
    /// (null, null) for anything else.
    /// </summary>
    public static (string? Channel, string? BroadcastId) ParseRecordingMaster(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Trim('/').Split('/');
        if (parts is ["live", .. var rest]) parts = rest;
        return parts is [var channel, "recordings", var id, "master.m3u8"] && IsValidName(channel) && IsValidName(id) ? (channel, id) : (null, null);
    }

    /// <summary>
    /// Whether <paramref name="key"/> (below <c>{channel}/</c>) belongs to broadcast <paramref name="broadcastId"/>'s
    /// recording: its recordings/ folder, or a rendition file named after the broadcast (segments, init segments, VOD
    /// playlist).
    /// </summary>
    public static bool IsRecordingObject(string channel, string broadcastId, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(channel + "/", StringComparison.Ordinal)) return false;
        if (key.StartsWith($"{channel}/recordings/{broadcastId}/", StringComparison.Ordinal)) return true;
        var name = key[(key.LastIndexOf('/') + 1)..];
        return name.StartsWith(broadcastId + "-", StringComparison.Ordinal) || name == broadcastId + ".m3u8";
    }
}

/// <summary>Cache-Control a store implies for a segment stored without its metadata (see <see cref="FileSystemSegmentStore"/>).</summary>
public static class StoreCacheControl
{
    /// <summary>Segments and init segments: their URLs are never reused (broadcast id in the name).</summary>
    public const string Immutable = "public, max-age=31536000, immutable";
}

/// <summary>HTTP metadata the packager chooses per object.</summary>
public static class ContentTypes
{
    public const string Hls = "application/vnd.apple.mpegurl";
    public const string Dash = "application/dash+xml";
    public const string VideoMp4 = "video/mp4";
    public const string AudioMp4 = "audio/mp4";
    public const string Jpeg = "image/jpeg";

    /// <summary>Derived from the extension when a store has no recorded type.</summary>
    public static string FromKey(string key) => Path.GetExtension(key) switch
    {
        ".m3u8" => Hls,
        ".mpd" => Dash,
        ".mp4" or ".m4s" => VideoMp4,
        ".m4a" => AudioMp4,
        ".jpg" => Jpeg,
        _ => "application/octet-stream",
    };
}
