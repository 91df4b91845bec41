using System.Buffers;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// One keyframe to one JPEG: the frame goes to ffmpeg as a one-frame FLV (its sequence header first) on stdin, the JPEG
/// comes back on stdout. ffmpeg decodes and encodes; nothing here touches pixels.
/// </summary>
public static class ThumbnailEncoder
{
    /// <summary>ffmpeg's arguments, one list entry each.</summary>
    public static IReadOnlyList<string> Arguments(int height) =>
    [
        "-hide_banner", "-v", "error", "-f", "flv", "-i", "pipe:0", "-frames:v", "1",
        "-vf", $"scale=-2:{height}", "-q:v", "5", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1",
    ];

    /// <summary>The keyframe as a one-frame FLV: header, the track's sequence header, the frame at time 0.</summary>
    public static byte[] ToFlv(MediaFrame keyframe)
    {
        ArgumentNullException.ThrowIfNull(keyframe);
        var flv = new ArrayBufferWriter<byte>(keyframe.Length + keyframe.Track.DecoderConfig.Length + 64);
        FlvMuxer.WriteHeader(flv, hasAudio: false, hasVideo: true);
        FlvMuxer.WriteVideoTag(flv, keyframe.Track.Codec, 0, keyframe: true, packetType: 0, cto: 0, keyframe.Track.DecoderConfig.Span);
        FlvMuxer.WriteVideoTag(flv, keyframe.Track.Codec, 0, keyframe: true, packetType: 1, cto: 0, keyframe.Data.Span);
        return flv.WrittenSpan.ToArray();
    }

    /// <summary>The JPEG, or null with the reason when ffmpeg failed or ran past <paramref name="timeout"/>.</summary>
    public static async Task<(byte[]? Jpeg, string? Error)> EncodeAsync(string ffmpegPath, MediaFrame keyframe, int height, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, Arguments(height)), timeout, cancellationToken, ToFlv(keyframe))
            .ConfigureAwait(false);
        if (run.TimedOut) return (null, $"ffmpeg ran past {timeout.TotalSeconds:0} s");
        // A JPEG starts with SOI (FF D8).
        return run.Succeeded && run.Stdout.Length > 2 && run.Stdout[0] == 0xFF && run.Stdout[1] == 0xD8
            ? (run.Stdout, null)
            : (null, $"ffmpeg exited {run.ExitCode}: {Tail(run.Stderr)}");
    }

    private static string Tail(string text)
    {
        text = text.Trim();
        return text.Length <= 300 ? text : "…" + text[^300..];
    }
}
