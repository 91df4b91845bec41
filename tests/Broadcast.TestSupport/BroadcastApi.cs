using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Broadcast.TestSupport;

/// <summary>POST /api/channels response (DESIGN.md contract).</summary>
public sealed record ChannelInfo(string Id, string Name, string Slug, string StreamKey, string? RtmpUrl, string? HlsUrl, string? DashUrl, string? SrtUrl = null);

/// <summary>
/// GET /api/channels/{id} live status, read through <see cref="ChannelStatusPaths"/> so extra fields are
/// ignored and a renamed field is a one-line fix. Missing values read as null, never as a throw, so the
/// assertion that uses them names the field.
/// </summary>
public sealed record ChannelStatus(
    bool? Live,
    string? VideoCodec,
    string? VideoCodecString,
    int? Width,
    int? Height,
    double? FrameRate,
    string? AudioCodec,
    string? AudioCodecString,
    int? SampleRate,
    int? Channels,
    long? VideoFrames,
    long? AudioFrames,
    double? Bitrate,
    double? Fps,
    double? KeyframeIntervalMs,
    JsonNode? Raw)
{
    public override string ToString() => Raw?.ToJsonString() ?? "(no body)";
}

/// <summary>
/// Every JSON path the end-to-end tests read from the admin API, in one place (dot-separated, matched
/// case-insensitively). Adjust here when the control plane's shape settles.
/// </summary>
public static class ChannelStatusPaths
{
    public const string Id = "id";
    public const string Name = "name";
    public const string Slug = "slug";
    public const string StreamKey = "streamKey";
    public const string RtmpUrl = "rtmpUrl";
    public const string HlsUrl = "hlsUrl";
    public const string DashUrl = "dashUrl";
    public const string SrtUrl = "srtUrl";

    public const string Live = "live";

    /// <summary>Control's ChannelLiveState shape ({"live": {"online": bool, ...}}), read when "live" is an object.</summary>
    public const string LiveOnline = "live.online";
    public const string VideoCodec = "live.video.codec";
    public const string VideoCodecString = "live.video.codecString";
    public const string Width = "live.video.width";
    public const string Height = "live.video.height";
    public const string FrameRate = "live.video.frameRate";
    public const string AudioCodec = "live.audio.codec";
    public const string AudioCodecString = "live.audio.codecString";
    public const string SampleRate = "live.audio.sampleRate";
    public const string Channels = "live.audio.channels";
    public const string VideoFrames = "live.videoFrames";
    public const string AudioFrames = "live.audioFrames";
    public const string Bitrate = "live.bitrate";
    public const string Fps = "live.fps";
    public const string KeyframeIntervalMs = "live.keyframeIntervalMs";

    /// <summary>Follows a dot path through objects, ignoring case; null when any step is missing.</summary>
    public static JsonNode? Select(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            if (node is not JsonObject obj)
            {
                return null;
            }

            JsonNode? next = null;
            foreach (var (k, v) in obj)
            {
                if (string.Equals(k, part, StringComparison.OrdinalIgnoreCase))
                {
                    next = v;
                    break;
                }
            }

            node = next;
        }

        return node;
    }

    public static string? String(JsonNode? root, string path) => Select(root, path) switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => null,
    };

    public static double? Number(JsonNode? root, string path) => Select(root, path) switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    public static bool? Bool(JsonNode? root, string path) => Select(root, path) switch
    {
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => null,
    };

    public static ChannelStatus ReadStatus(JsonNode? root) => new(
        Bool(root, Live) ?? Bool(root, LiveOnline),
        String(root, VideoCodec),
        String(root, VideoCodecString),
        (int?)Number(root, Width),
        (int?)Number(root, Height),
        Number(root, FrameRate),
        String(root, AudioCodec),
        String(root, AudioCodecString),
        (int?)Number(root, SampleRate),
        (int?)Number(root, Channels),
        (long?)Number(root, VideoFrames),
        (long?)Number(root, AudioFrames),
        Number(root, Bitrate),
        Number(root, Fps),
        Number(root, KeyframeIntervalMs),
        root);

    public static ChannelInfo ReadChannel(JsonNode? root) => new(
        String(root, Id) ?? throw new FormatException($"channel JSON has no '{Id}': {root?.ToJsonString()}"),
        String(root, Name) ?? "",
        String(root, Slug) ?? "",
        String(root, StreamKey) ?? throw new FormatException($"channel JSON has no '{StreamKey}': {root?.ToJsonString()}"),
        String(root, RtmpUrl),
        String(root, HlsUrl),
        String(root, DashUrl),
        String(root, SrtUrl));
}

/// <summary>The admin REST API as the end-to-end tests use it.</summary>
/// <param name="diagnostics">Appended to every error (the server's log tail), so a failed call explains itself.</param>
public sealed class BroadcastApi(HttpClient http, Func<string>? diagnostics = null)
{
    private string Diagnostics => diagnostics is null ? "" : $"{Environment.NewLine}--- server log tail ---{Environment.NewLine}{diagnostics()}";

    public async Task<ChannelInfo> CreateChannelAsync(string name)
    {
        using var response = await http.PostAsJsonAsync("api/channels", new { name }).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST /api/channels {{\"name\":\"{name}\"}} -> {(int)response.StatusCode}: {body}{Diagnostics}");
        }

        return ChannelStatusPaths.ReadChannel(JsonNode.Parse(body));
    }

    /// <summary>A channel with its <c>lowLatency</c> setting (LL-HLS and LL-DASH packaging).</summary>
    public async Task<ChannelInfo> CreateChannelAsync(string name, bool lowLatency)
    {
        using var response = await http.PostAsJsonAsync("api/channels", new { name, lowLatency }).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST /api/channels {{\"name\":\"{name}\",\"lowLatency\":{(lowLatency ? "true" : "false")}}} -> {(int)response.StatusCode}: {body}{Diagnostics}");
        }

        return ChannelStatusPaths.ReadChannel(JsonNode.Parse(body));
    }

    /// <summary>
    /// <c>PUT /api/channels/{id}/audio-tracks</c>: the channel's languages for the encoder's untagged audio tracks, in track
    /// order (null leaves a track as sent).
    /// </summary>
    public async Task SetAudioTrackLanguagesAsync(string id, params string?[] languages)
    {
        var tracks = new { tracks = languages.Select(l => new { language = l }).ToArray() };
        using var response = await http.PutAsJsonAsync($"api/channels/{Uri.EscapeDataString(id)}/audio-tracks", tracks).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"PUT /api/channels/{id}/audio-tracks -> {(int)response.StatusCode}: {body}{Diagnostics}");
        }
    }

    public async Task<ChannelStatus> GetChannelAsync(string id)
    {
        using var response = await http.GetAsync($"api/channels/{Uri.EscapeDataString(id)}").ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET /api/channels/{id} -> {(int)response.StatusCode}: {body}{Diagnostics}");
        }

        return ChannelStatusPaths.ReadStatus(JsonNode.Parse(body));
    }

    /// <summary><c>GET /api/recordings?channelId=</c>: each recording's HLS and DASH URLs (absolute or origin-relative).</summary>
    public async Task<IReadOnlyList<RecordingInfo>> ListRecordingsAsync(string channelId)
    {
        using var response = await http.GetAsync($"api/recordings?channelId={Uri.EscapeDataString(channelId)}").ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET /api/recordings?channelId={channelId} -> {(int)response.StatusCode}: {body}{Diagnostics}");
        }

        return JsonNode.Parse(body)!.AsArray()
            .Select(r => new RecordingInfo(
                ChannelStatusPaths.String(r, "id") ?? "",
                ChannelStatusPaths.String(r, "hlsUrl") ?? ChannelStatusPaths.String(r, "hlsPath") ?? "",
                ChannelStatusPaths.String(r, "dashUrl") ?? ChannelStatusPaths.String(r, "dashPath") ?? ""))
            .ToList();
    }
}

/// <summary>A recording as the admin API lists it.</summary>
public sealed record RecordingInfo(string Id, string HlsUrl, string DashUrl);
