namespace Broadcast.Ingest.Pull;

/// <summary>The codecs ffprobe found in a source: the first video and the first audio stream.</summary>
public sealed record PullProbeResult(string? VideoCodec, string? AudioCodec)
{
    /// <summary>Legacy FLV (what ffmpeg 5.1 writes and the reader takes) carries H.264; anything else is encoded to H.264.</summary>
    public bool CopyVideo => VideoCodec == "h264";

    /// <summary>Ingest takes AAC only; other audio is encoded to AAC.</summary>
    public bool CopyAudio => AudioCodec == "aac";

    public string Describe() =>
        $"video {(VideoCodec is null ? "none" : $"{VideoCodec} ({(CopyVideo ? "copied" : "encoded to h264")})")}, " +
        $"audio {AudioCodec ?? "none"}{(AudioCodec is null ? "" : CopyAudio ? " (copied)" : " (encoded to aac)")}";
}

/// <summary>Why an attempt did not give media: decides between retrying with backoff and stopping in the failed state.</summary>
public enum PullFailureKind
{
    /// <summary>Connection refused, timeout, HTTP error, remote ended: retried with backoff.</summary>
    Unreachable,

    /// <summary>Reachable but not media (ffmpeg's "Invalid data found when processing input", no video stream): failed, not retried.</summary>
    NotMedia,

    /// <summary>A file source that does not exist: failed, not retried (nothing will change by waiting).</summary>
    Missing,
}

public sealed record PullFailure(PullFailureKind Kind, string Reason);

/// <summary>Reads ffprobe's answer and ffmpeg's complaints. Pure text in, verdict out.</summary>
public static class PullProbe
{
    private const string InvalidData = "Invalid data found when processing input";

    /// <summary>
    /// Parses <c>ffprobe -show_entries stream=codec_name,codec_type -of csv=p=0</c> output ("h264,video", "aac,audio", one line
    /// per stream). A source with no video stream is not something we can broadcast, unless <paramref name="audioOnlyAllowed"/>
    /// (a program's music bed) and it has sound.
    /// </summary>
    public static bool TryParse(IEnumerable<string> stdoutLines, out PullProbeResult result, out PullFailure? failure, bool audioOnlyAllowed = false)
    {
        ArgumentNullException.ThrowIfNull(stdoutLines);
        string? video = null, audio = null;
        bool any = false;
        foreach (var line in stdoutLines)
        {
            var parts = line.Trim().Split(',');
            if (parts.Length < 2) continue;
            any = true;
            int type = Array.FindIndex(parts, p => p is "video" or "audio");
            if (type < 0) continue;
            string codec = parts[type == 0 ? 1 : 0].Trim();
            if (codec.Length == 0) continue;
            if (parts[type] == "video") video ??= codec;
            else audio ??= codec;
        }
        result = new PullProbeResult(video, audio);
        failure = video is not null || (audioOnlyAllowed && audio is not null) ? null
            : new PullFailure(PullFailureKind.NotMedia, any
                ? $"the source has no video stream (found: {audio ?? "data only"}); a channel needs video"
                : "the source has no audio or video streams");
        return failure is null;
    }

    /// <summary>
    /// Classifies a failed ffprobe/ffmpeg run from its exit code and its last stderr lines into a short reason from a fixed set
    /// ("connection refused", "timed out", "host not found", "TLS verification failed", "the server answered HTTP 404", …). The remote's
    /// own words (an RTMP server's error text, a URL, an address) never reach the reason: a status that echoed them would tell whoever
    /// reads it what answers where.
    /// </summary>
    public static PullFailure Classify(int exitCode, IReadOnlyList<string> stderr, PullSourceKind kind)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (stderr.Any(l => l.Contains(InvalidData, StringComparison.Ordinal)))
            return new PullFailure(PullFailureKind.NotMedia, "not a media stream: ffmpeg says \"" + InvalidData + "\"");
        if (kind == PullSourceKind.File && stderr.Any(l => l.Contains("No such file or directory", StringComparison.Ordinal)))
            return new PullFailure(PullFailureKind.Missing, "the file does not exist in the media library");
        return new PullFailure(PullFailureKind.Unreachable, Reason(exitCode, stderr, kind));
    }

    private static string Reason(int exitCode, IReadOnlyList<string> stderr, PullSourceKind kind)
    {
        bool Any(string text) => stderr.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));
        if (stderr.Any(l => l.StartsWith("[tls", StringComparison.Ordinal) && l.Contains("certificate", StringComparison.OrdinalIgnoreCase)))
            return "TLS verification failed";
        if (Any("Connection refused")) return "connection refused";
        if (Any("Failed to resolve hostname") || Any("Name or service not known") || Any("name resolution") || Any("No address associated"))
            return "host not found";
        if (Any("timed out")) return "timed out";
        if (Any("Network is unreachable") || Any("No route to host")) return "network unreachable";
        if (Any("Connection reset by peer")) return "connection reset by the remote";
        foreach (var line in stderr)
        {
            int at = line.IndexOf("Server returned ", StringComparison.Ordinal);
            if (at < 0) continue;
            string code = line.Substring(at + 16, Math.Min(3, line.Length - at - 16));
            return code.Length == 3 && (char.IsDigit(code[0]) || code[1] == 'X') ? $"the server answered HTTP {code.ToLowerInvariant()}"
                : "the server answered an HTTP error";
        }
        if (Any("Server error:") || Any("Server rejected")) return "the RTMP server refused the stream";
        if (stderr.Any(l => l.StartsWith("[tls", StringComparison.Ordinal))) return "TLS handshake failed";
        if (kind == PullSourceKind.Srt && Any("Connection to srt://")) return "no answer from an SRT listener";
        if (Any("End of file")) return "remote closed the connection";
        if (Any("Input/output error"))
            return kind == PullSourceKind.Http ? "the source could not be read (a redirect, which is not followed, or a dropped connection)"
                : "remote closed the connection";
        return $"the source could not be read (ffmpeg exit code {exitCode})";
    }
}
