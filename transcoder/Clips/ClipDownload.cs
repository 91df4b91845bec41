using System.Globalization;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Clips;

/// <summary>One rendition's stored media for a download: its init segment and media segments written one after the
/// other (a fragmented MP4 file), and how far into it the clip starts.</summary>
/// <param name="Path">The file: init segment, then the segments in order.</param>
/// <param name="Start">The clip's start, from the file's first frame.</param>
public sealed record ClipDownloadInput(string Path, TimeSpan Start);

/// <summary>
/// A clip's MP4 download (issue #49): one progressive MP4 file (H.264 High and AAC-LC, <c>moov</c> first) that plays
/// anywhere and uploads to any platform, cut to the frame at both ends. Made in the background once per clip from the
/// stored segments of one video rendition and the audio rendition: ffmpeg seeks each input to the clip's start (input
/// seeking with a re-encode decodes from the keyframe before it and drops what precedes it, so the first picture is the
/// one asked for) and stops after its duration. The whole clip is re-encoded: the stored segments and the cut ends
/// have different parameter sets, which one <c>avc1</c> sample entry cannot carry (ISO/IEC 14496-15 §5.3.3), and a
/// stream copy can only end on the frame asked for through an edit list many tools ignore.
/// </summary>
public static class ClipDownload
{
    /// <summary>The AAC bit rate of the download: transparent for program audio, small beside the video.</summary>
    public const int AudioBitrate = 160_000;

    /// <summary>How long a download may take: a minute, plus four times the clip (a five-minute 1080p clip on two loaded cores).</summary>
    public static TimeSpan TimeoutFor(TimeSpan duration) => TimeSpan.FromMinutes(1) + 4 * duration;

    /// <summary>The ffmpeg arguments, one per element. <paramref name="maxBitrate"/> caps the video near the rendition's own rate.</summary>
    public static IReadOnlyList<string> Arguments(ClipDownloadInput video, ClipDownloadInput? audio, TimeSpan duration, long? maxBitrate,
        string output)
    {
        ArgumentNullException.ThrowIfNull(video);
        if (duration <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(duration), "a clip lasts more than nothing");
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "error", "-y" };
        Input(video);
        if (audio is not null) Input(audio);
        args.AddRange(["-map", "0:v:0", "-map", audio is null ? "0:a:0?" : "1:a:0", "-t", Seconds(duration),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "19", "-profile:v", "high", "-pix_fmt", "yuv420p"]);
        if (maxBitrate is > 0 and { } cap)
        {
            string rate = cap.ToString(CultureInfo.InvariantCulture);
            args.AddRange(["-maxrate", rate, "-bufsize", (2 * cap).ToString(CultureInfo.InvariantCulture)]);
        }
        // Timestamps from zero on both tracks, each input shifted by its own seek, so picture and sound stay together.
        args.AddRange(["-c:a", "aac", "-b:a", AudioBitrate.ToString(CultureInfo.InvariantCulture), "-movflags", "+faststart",
            "-f", "mp4", output]);
        return args;

        void Input(ClipDownloadInput input)
        {
            if (input.Start > TimeSpan.Zero) args.AddRange(["-ss", Seconds(input.Start)]);
            args.AddRange(["-i", input.Path]);
        }
    }

    /// <summary>
    /// Makes the MP4 at <paramref name="output"/>; throws with ffmpeg's message when it fails, and leaves no file then.
    /// </summary>
    public static async Task MakeAsync(string ffmpeg, ClipDownloadInput video, ClipDownloadInput? audio, TimeSpan duration, long? maxBitrate,
        string output, CancellationToken cancellationToken)
    {
        var timeout = TimeoutFor(duration);
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpeg, Arguments(video, audio, duration, maxBitrate, output)), timeout,
            cancellationToken).ConfigureAwait(false);
        if (run.Succeeded && !run.TimedOut && File.Exists(output) && new FileInfo(output).Length > 0) return;
        File.Delete(output);
        if (run.TimedOut) throw new TimeoutException($"ffmpeg did not make the clip's MP4 within {timeout.TotalSeconds:0} s");
        throw new InvalidOperationException($"ffmpeg could not make the clip's MP4: {run.Stderr.Trim()}");
    }

    private static string Seconds(TimeSpan t) => (t.Ticks / (double)TimeSpan.TicksPerSecond).ToString("0.######", CultureInfo.InvariantCulture);
}
