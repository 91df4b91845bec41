namespace Broadcast.Transcoder.Pull;

/// <summary>The codecs ffprobe found in a source: the first video and the first audio stream.</summary>
public sealed record PullProbeResult(string? VideoCodec, string? AudioCodec)
{
    /// <summary>Legacy FLV (what ffmpeg 5.1 writes and the reader takes) carries H.264; anything else is encoded to H.264.</summary>
    public bool CopyVideo => VideoCodec == "h264";

    /// <summary>Ingest takes AAC only; other audio is encoded to AAC.</summary>
    public bool CopyAudio => AudioCodec == "aac";

    public string Describe() =>
        $"video {VideoCodec ?? "none"} ({(CopyVideo ? "copied" : "encoded to h264")}), audio {AudioCodec ?? "none"}{(AudioCodec is null ? "" : CopyAudio ? " (copied)" : " (encoded to aac)")}";
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
    /// per stream). A source with no video stream is not something we can broadcast.
    /// </summary>
    public static bool TryParse(IEnumerable<string> stdoutLines, out PullProbeResult result, out PullFailure? failure)
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
        failure = video is not null ? null
            : new PullFailure(PullFailureKind.NotMedia, any
                ? $"the source has no video stream (found: {audio ?? "data only"}); a channel needs video"
                : "the source has no audio or video streams");
        return failure is null;
    }

    /// <summary>Classifies a failed ffprobe/ffmpeg run from its exit code and its last stderr lines.</summary>
    public static PullFailure Classify(int exitCode, IReadOnlyList<string> stderr, PullSourceKind kind)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (stderr.Any(l => l.Contains(InvalidData, StringComparison.Ordinal)))
            return new PullFailure(PullFailureKind.NotMedia, "not a media stream: ffmpeg says \"" + InvalidData + "\"");
        if (kind == PullSourceKind.File && stderr.Any(l => l.Contains("No such file or directory", StringComparison.Ordinal)))
            return new PullFailure(PullFailureKind.Missing, "the file does not exist in the media library");
        string? last = stderr.LastOrDefault(l => !string.IsNullOrWhiteSpace(l));
        return new PullFailure(PullFailureKind.Unreachable, last is null ? $"ffmpeg exited with code {exitCode}" : Clean(last));
    }

    /// <summary>ffmpeg prefixes messages with the input URL ("rtmp://host/app/key: Connection refused"): keep the message, not the URL.</summary>
    internal static string Clean(string line)
    {
        line = line.Trim();
        int scheme = line.IndexOf("://", StringComparison.Ordinal);
        int sep = line.LastIndexOf(": ", StringComparison.Ordinal);
        if ((scheme >= 0 || line.StartsWith("file:", StringComparison.Ordinal)) && sep > scheme) line = line[(sep + 2)..];
        // "[tcp @ 0x55d…] Connection to tcp://… failed": drop the context pointer.
        if (line.StartsWith('[') && line.IndexOf("] ", StringComparison.Ordinal) is int close and > 0) line = line[(close + 2)..];
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}
