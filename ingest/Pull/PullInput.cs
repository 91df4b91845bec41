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
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host)
                    || !url.Contains("://", StringComparison.Ordinal))
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
        string rootWithSlash = WithSlash(root);
        if (!full.StartsWith(rootWithSlash, StringComparison.Ordinal)) { error = "the file is outside the media library"; return false; }
        // A symbolic link anywhere on the way (a linked directory as much as a linked file) may point anywhere: both the
        // root and the file are resolved link by link, and the file's real path must still lie under the root's.
        if (RealPath(root) is not { } realRoot || RealPath(full) is not { } real)
        {
            error = "the file's path has too many symbolic links";
            return false;
        }
        if (!real.StartsWith(WithSlash(realRoot), StringComparison.Ordinal)) { error = "the file links outside the media library"; return false; }
        // ffmpeg opens the resolved path, the one just checked, not one it would resolve again through the links.
        // "file:" keeps ffmpeg from reading a colon in the name as a protocol.
        input = new PullInput(PullSourceKind.File, "file:" + real, "file:" + path);
        return true;
    }

    /// <summary>The most links followed in one path, as the kernel's own limit (ELOOP): beyond it is a loop.</summary>
    private const int MaxLinks = 40;

    /// <summary>
    /// <paramref name="path"/> (absolute, normalized) with every symbolic link on it replaced by its target, one
    /// component at a time, so that a linked directory is followed as the kernel would follow it; a component that does
    /// not exist (a file not there yet) ends the resolution and the rest is kept as written. Null after
    /// <see cref="MaxLinks"/> links.
    /// </summary>
    internal static string? RealPath(string path)
    {
        string current = Path.GetPathRoot(path) ?? "/";
        var pending = new List<string>(Segments(path[current.Length..]));
        int links = 0;
        while (pending.Count > 0)
        {
            string segment = pending[0];
            pending.RemoveAt(0);
            if (segment == ".") continue;
            // current is already free of links, so its parent is the physical one.
            if (segment == "..") { current = Path.GetDirectoryName(current) ?? current; continue; }
            string next = Path.Join(current, segment);
            // LinkTarget reads the link itself (lstat), for directories and files alike, and is null for anything else,
            // a missing entry included.
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) return null;
            // The target is resolved the same way: it may hold links and '..' of its own.
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target) ?? current;
            string targetRest = Path.IsPathRooted(target) ? target[current.Length..] : target;
            pending.InsertRange(0, Segments(targetRest));
        }
        return current;
    }

    private static string[] Segments(string path) =>
        path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);

    private static string WithSlash(string directory) =>
        directory.EndsWith(Path.DirectorySeparatorChar) ? directory : directory + Path.DirectorySeparatorChar;

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
