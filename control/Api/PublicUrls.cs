using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Broadcast.Control.Api;

/// <summary>
/// The URLs an encoder and a player use for a channel. Behind a CDN or a proxy the request's own
/// host is not what the public sees, hence the <c>Public:*</c> overrides.
/// </summary>
public sealed class PublicUrls(ControlSettings settings)
{
    /// <summary><c>Public:RtmpBaseUrl</c>, else <c>rtmp://{request host}:{Rtmp:Port}/live</c>. The key goes in OBS's key field.</summary>
    public string RtmpUrl(HttpRequest request)
    {
        if (!string.IsNullOrWhiteSpace(settings.PublicRtmpBaseUrl))
        {
            return settings.PublicRtmpBaseUrl.TrimEnd('/');
        }

        var host = string.IsNullOrEmpty(request.Host.Host) ? "localhost" : request.Host.Host;
        return string.Create(CultureInfo.InvariantCulture, $"rtmp://{host}:{settings.RtmpPort}/live");
    }

    /// <summary>
    /// The whole SRT URL an encoder publishes to, stream id included (SRT has no separate key field):
    /// <c>{Public:SrtBaseUrl or srt://{request host}:{Srt:Port}}?streamid=#!::r=live/{streamKey},m=publish</c>; null while SRT is off.
    /// </summary>
    public string? SrtUrl(HttpRequest request, string streamKey)
    {
        string? baseUrl = !string.IsNullOrWhiteSpace(settings.PublicSrtBaseUrl) ? settings.PublicSrtBaseUrl.TrimEnd('/')
            : settings.SrtPort is { } port ? string.Create(CultureInfo.InvariantCulture,
                $"srt://{(string.IsNullOrEmpty(request.Host.Host) ? "localhost" : request.Host.Host)}:{port}")
            : null;
        return baseUrl is null ? null : $"{baseUrl}?streamid=#!::r=live/{streamKey},m=publish";
    }

    /// <summary><c>Public:BackupRtmpBaseUrl</c> (the backup server an encoder falls back to), or null when none is set.</summary>
    public string? BackupRtmpUrl() => string.IsNullOrWhiteSpace(settings.PublicBackupRtmpBaseUrl) ? null
        : settings.PublicBackupRtmpBaseUrl.TrimEnd('/');

    public string HlsUrl(HttpRequest request, string slug) => $"{HttpBase(request)}/live/{slug}/master.m3u8";

    /// <summary>A clip's HLS master (VOD), under the channel's path so private playback covers it.</summary>
    public string ClipHlsUrl(HttpRequest request, string slug, string clipId) => $"{HttpBase(request)}/live/{slug}/clips/{clipId}/master.m3u8";

    public string DashUrl(HttpRequest request, string slug) => $"{HttpBase(request)}/live/{slug}/manifest.mpd";

    /// <summary>The channel's WHEP endpoint (docs/real-time.md): through the edge when <c>Public:HttpBaseUrl</c> names it.</summary>
    public string WhepUrl(HttpRequest request, string slug) => $"{HttpBase(request)}/live/{slug}/whep";

    /// <summary><c>Public:HttpBaseUrl</c>, else the request's scheme and host.</summary>
    public string HttpBase(HttpRequest request)
        => !string.IsNullOrWhiteSpace(settings.PublicHttpBaseUrl)
            ? settings.PublicHttpBaseUrl.TrimEnd('/')
            : $"{request.Scheme}://{request.Host.Value}{request.PathBase.Value}";
}
