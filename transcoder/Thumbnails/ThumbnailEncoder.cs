using System.Buffers;
using System.Diagnostics;
using Broadcast.Media;
using Broadcast.Transcoder.Flv;

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
        byte[] input = ToFlv(keyframe);
        var psi = new ProcessStartInfo(ffmpegPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments(height)) psi.ArgumentList.Add(argument);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{ffmpegPath} did not start");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var stdout = new MemoryStream();
            var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, deadline.Token);
            var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.StandardInput.BaseStream.WriteAsync(input, deadline.Token).ConfigureAwait(false);
            process.StandardInput.Close();
            await copyOut.ConfigureAwait(false);
            string errors = await stderr.ConfigureAwait(false);
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            byte[] jpeg = stdout.ToArray();
            // A JPEG starts with SOI (FF D8).
            return process.ExitCode == 0 && jpeg.Length > 2 && jpeg[0] == 0xFF && jpeg[1] == 0xD8
                ? (jpeg, null)
                : (null, $"ffmpeg exited {process.ExitCode}: {Tail(errors)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"ffmpeg ran past {timeout.TotalSeconds:0} s");
        }
        catch (IOException e)
        {
            return (null, "ffmpeg closed its pipes: " + e.Message);
        }
        finally
        {
            if (!process.HasExited)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
    }

    private static string Tail(string text)
    {
        text = text.Trim();
        return text.Length <= 300 ? text : "…" + text[^300..];
    }
}
