namespace Broadcast.Ingest.Pull;

/// <summary>What kind of source a pull URL names; decides pacing (<c>-re</c>), looping and what "ended" means.</summary>
public enum PullSourceKind
{
    /// <summary><c>rtmp://</c>, <c>rtmps://</c>: a live stream; read as fast as it arrives; an end is a drop (retry).</summary>
    Rtmp,

    /// <summary><c>srt://</c> (caller mode): live, like RTMP.</summary>
    Srt,

    /// <summary><c>http(s)://</c>: HLS (<c>…m3u8</c>) or a media file over HTTP; read at its native rate.</summary>
    Http,

    /// <summary><c>file:PATH</c> under <c>Pull:MediaRoot</c>: read at its native rate, looped or played once.</summary>
    File,
}

/// <summary>
/// A pull source resolved for ffmpeg: the input it opens, its kind and a form safe to log (no stream key, no
/// query, no credentials). <see cref="TryResolve"/> is the only way in, so every input has passed the checks.
/// </summary>
public sealed record PullInput(PullSourceKind Kind, string FfmpegInput, string Display)
{
    /// <summary>Live network sources are read as they arrive; files and HTTP (VOD or live HLS) at native rate with <c>-re</c>.</summary>
    public bool ReadAtNativeRate => Kind is PullSourceKind.File or PullSourceKind.Http;

    /// <summary>Whether ffmpeg ending normally means the source is over (a file or HLS with ENDLIST) rather than dropped.</summary>
    public bool EndsByItself => Kind is PullSourceKind.File or PullSourceKind.Http;

    public const int MaxUrlLength = 2048;

    /// <summary>
    /// Accepts <c>rtmp://</c>, <c>rtmps://</c>, <c>srt://HOST:PORT</c>, <c>http(s)://</c> and <c>file:RELATIVE/PATH</c> (resolved under
    /// <paramref name="mediaRoot"/>; a path that leaves it, absolute or through <c>..</c> or a symbolic link, is refused).
    /// </summary>
    public static bool TryResolve(string? url, string mediaRoot, out PullInput input, out string error)
    {
        input = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(url)) { error = "the URL is empty"; return false; }
        url = url.Trim();
        if (url.Length > MaxUrlLength) { error = $"the URL is longer than {MaxUrlLength} characters"; return false; }
        if (url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))) { error = "the URL contains spaces or control characters"; return false; }
        int colon = url.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon > 0 ? url[..colon].ToLowerInvariant() : "";
        switch (scheme)
        {
            case "file":
                return TryResolveFile(url[(colon + 1)..], mediaRoot, out input, out error);
            case "rtmp" or "rtmps" or "srt" or "http" or "https":
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || !url.Contains("://", StringComparison.Ordinal))
                {
                    error = $"'{scheme}:' URLs look like {scheme}://HOST/…";
                    return false;
                }
                if (scheme == "srt" && uri.IsDefaultPort) { error = "an srt:// URL needs a port (srt://HOST:PORT)"; return false; }
                var kind = scheme switch { "srt" => PullSourceKind.Srt, "http" or "https" => PullSourceKind.Http, _ => PullSourceKind.Rtmp };
                input = new PullInput(kind, url, Redact(uri));
                return true;
            default:
                error = colon > 0
                    ? $"the scheme '{Shorten(scheme)}' is not supported: use rtmp://, rtmps://, srt://, http(s):// (HLS) or file:PATH"
                    : "the URL has no scheme: use rtmp://, rtmps://, srt://, http(s):// (HLS) or file:PATH";
                return false;
        }
    }

    private static bool TryResolveFile(string path, string mediaRoot, out PullInput input, out string error)
    {
        input = null!;
        error = "";
        if (path.Length == 0) { error = "file: needs a path under the media library, e.g. file:clips/intro.mp4"; return false; }
        if (path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal))
        {
            error = "file: paths are relative to the media library (Pull:MediaRoot), e.g. file:clips/intro.mp4";
            return false;
        }
        if (path.Split('/').Any(s => s is ".." or "."))
        {
            error = "file: paths may not contain '.' or '..' segments";
            return false;
        }
        string root = Path.GetFullPath(mediaRoot);
        string full = Path.GetFullPath(Path.Combine(root, path));
        string rootWithSlash = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSlash, StringComparison.Ordinal)) { error = "the file is outside the media library"; return false; }
        // A symbolic link inside the library may point anywhere: follow it and check again.
        var info = new FileInfo(full);
        if (info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
        {
            string resolved = Path.GetFullPath(target.FullName);
            if (!resolved.StartsWith(rootWithSlash, StringComparison.Ordinal)) { error = "the file links outside the media library"; return false; }
        }
        // "file:" keeps ffmpeg from reading a colon in the name as a protocol.
        input = new PullInput(PullSourceKind.File, "file:" + full, "file:" + path);
        return true;
    }

    /// <summary>scheme://host[:port]/first-segment/… : RTMP keys, tokens in paths and queries, user info stay out of logs and the API.</summary>
    private static string Redact(Uri uri)
    {
        string port = uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string path = segments.Length switch
        {
            0 => "/",
            1 when uri.Scheme.StartsWith("http", StringComparison.Ordinal) => "/" + segments[0],
            1 => "/…",
            _ => "/" + segments[0] + "/…",
        };
        return $"{uri.Scheme}://{uri.Host}{port}{path}";
    }

    private static string Shorten(string value) => value.Length <= 16 ? value : value[..16] + "…";
}
