using System.Collections.Concurrent;
using System.Text;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Steering;

/// <summary>
/// Master playlists and MPDs as the origin serves them when steering is on: the stored manifest with the pathways and
/// the steering server added (<see cref="ContentSteering"/>). A rewrite is kept per key until the stored manifest
/// changes, so every viewer of a version costs one dictionary read; the result is still one body for all viewers (an
/// edge caches it), except for a private stream's request with <c>?token=</c>, whose copy names the token in every
/// pathway's URIs (HLS) or in its segment templates and Locations (DASH) and is therefore that viewer's alone.
/// </summary>
public sealed class SteeredManifests
{
    /// <summary>Rewrites kept; one per manifest key, so bounded by the channels and recordings being watched.</summary>
    private const int MaxEntries = 4096;

    private readonly SteeringPathways _pathways;
    private readonly SteeringOptions _options;
    private readonly ConcurrentDictionary<string, (string SourceETag, string ServerUri, StoredObject Steered)> _cache = new(StringComparer.Ordinal);

    public SteeredManifests(SteeringPathways pathways, IOptions<SteeringOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pathways = pathways;
        _options = options.Value;
    }

    /// <summary>
    /// True when the object is a manifest steering applies to: an MPD, or an HLS master (a live one or a recording's, both
    /// named <see cref="StoreKeys.MasterName"/>). Decided by the key alone: media playlists, asked for every second or
    /// part by every player, are not read through.
    /// </summary>
    public static bool Applies(MediaObjectKind kind, string key) =>
        kind == MediaObjectKind.DashManifest || (kind == MediaObjectKind.HlsPlaylist && StoreKeys.IsMaster(key));

    /// <summary>
    /// The steered copy of <paramref name="stored"/> (key <paramref name="key"/>, a master playlist or MPD).
    /// <paramref name="token"/>: the private stream's token from the query, to carry to every pathway.
    /// </summary>
    public StoredObject Steer(HttpRequest request, string key, MediaObjectKind kind, StoredObject stored, string? token)
    {
        ArgumentNullException.ThrowIfNull(request);
        string serverUri = ServerUri(request, kind == MediaObjectKind.HlsPlaylist ? SteeringFormat.Hls : SteeringFormat.Dash);
        if (token is null && _cache.TryGetValue(key, out var cached) && cached.SourceETag == stored.ETag && cached.ServerUri == serverUri)
            return cached.Steered;

        int slash = key.LastIndexOf('/');
        string directory = "/live/" + (slash < 0 ? "" : key[..(slash + 1)]);
        string text = Encoding.UTF8.GetString(stored.Data.Span);
        string? query = token is null ? null : PlaybackGate.TokenParameter + "=" + Uri.EscapeDataString(token);
        string steered = kind == MediaObjectKind.HlsPlaylist
            ? ContentSteering.SteerHlsMaster(text, directory, _pathways.Manifest, serverUri, query)
            : ContentSteering.SteerMpd(text, directory, _pathways.Manifest, serverUri,
                MediaObjectKinds.HasEnded(kind, stored.Data.Span) ? null : key[(slash + 1)..], query);
        byte[] bytes = Encoding.UTF8.GetBytes(steered);
        StoredObject result = stored with { Data = bytes, ETag = RecentObjectCache.ComputeETag(bytes) };
        if (token is null)
        {
            if (_cache.Count >= MaxEntries) _cache.Clear();
            _cache[key] = (stored.ETag, serverUri, result);
        }

        return result;
    }

    /// <summary>
    /// Where players ask: <see cref="SteeringOptions.ServerBase"/>; without <see cref="SteeringOptions.ServerUrl"/> an HLS
    /// master names it relative to itself (RFC 8216bis 4.4.6.6), while the MPD's is absolute, which every DASH player
    /// resolves alike.
    /// </summary>
    private string ServerUri(HttpRequest request, SteeringFormat format)
    {
        string path = format == SteeringFormat.Hls ? SteeringEndpoints.HlsPath : SteeringEndpoints.DashPath;
        return format == SteeringFormat.Hls && _options.ServerUrl.Length == 0 ? path : _options.ServerBase(request) + path;
    }
}
