using System.Globalization;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Slate;

/// <summary>
/// One segment's worth of slate: a still image and silence encoded once by ffmpeg (H.264 at the source's size,
/// AAC at its sample rate and channel count, one keyframe per segment) and held as frames to repeat for as long as
/// a reconnect gap lasts. Frames keep their pooled payloads until <see cref="Dispose"/>.
/// </summary>
public sealed class SlateClip : IDisposable
{
    /// <summary>Slate frame rate: a still image needs few frames, and the ladder re-encodes it cheaply.</summary>
    public const int FramesPerSecond = 10;

    /// <summary>How long one slate encode may take (a still image: seconds, even on a loaded machine).</summary>
    private static readonly TimeSpan EncodeTimeout = TimeSpan.FromSeconds(60);

    private SlateClip(IReadOnlyList<MediaFrame> video, IReadOnlyList<MediaFrame> audio)
    {
        Video = video;
        Audio = audio;
    }

    /// <summary>Video frames of one segment, the first a keyframe; 90 kHz, one every 1/<see cref="FramesPerSecond"/> s.</summary>
    public IReadOnlyList<MediaFrame> Video { get; }

    /// <summary>Silent AAC frames (every one is the same silence, so any can repeat).</summary>
    public IReadOnlyList<MediaFrame> Audio { get; }

    /// <summary>The ffmpeg arguments (one per element) that encode the slate to FLV on stdout.</summary>
    public static IReadOnlyList<string> Arguments(string imagePath, int width, int height, int sampleRate, int channels, int segmentSeconds)
    {
        var inv = CultureInfo.InvariantCulture;
        int gop = FramesPerSecond * segmentSeconds;
        return
        [
            "-hide_banner", "-nostdin", "-loglevel", "error",
            "-loop", "1", "-framerate", FramesPerSecond.ToString(inv), "-i", imagePath,
            "-f", "lavfi", "-i", string.Create(inv, $"anullsrc=r={sampleRate}:cl={(channels == 1 ? "mono" : "stereo")}"),
            "-t", segmentSeconds.ToString(inv), "-map", "0:v", "-map", "1:a",
            "-vf", string.Create(inv,
                $"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,format=yuv420p"),
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-profile:v", "main", "-bf", "0",
            "-g", gop.ToString(inv), "-keyint_min", gop.ToString(inv), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "64k",
            "-f", "flv", "pipe:1",
        ];
    }

    /// <summary>Runs ffmpeg and reads its FLV back into frames. Throws with ffmpeg's message when it fails.</summary>
    public static async Task<SlateClip> EncodeAsync(string ffmpeg, string imagePath, int width, int height, int sampleRate, int channels,
        int segmentSeconds,
        CancellationToken cancellationToken)
    {
        var launch = new ProcessLaunch(ffmpeg, Arguments(imagePath, width, height, sampleRate, channels, segmentSeconds));
        var run = await SupervisedProcess.RunAsync(launch, EncodeTimeout, cancellationToken).ConfigureAwait(false);
        if (run.TimedOut) throw new TimeoutException($"ffmpeg did not encode the slate {imagePath} within {EncodeTimeout.TotalSeconds:0} s");
        if (!run.Succeeded) throw new InvalidOperationException($"ffmpeg could not encode the slate {imagePath}: {run.Stderr.Trim()}");
        return Parse(run.Stdout);
    }

    /// <summary>Reads ffmpeg's FLV (H.264 + AAC) into frames.</summary>
    public static SlateClip Parse(ReadOnlySpan<byte> flv)
    {
        var sink = new LiveStream("slate");
        using var reader = sink.OpenReader("slate", capacity: 100_000);
        var frames = new FlvDemuxer(sink);
        if (!FlvFileHeader.TryRead(flv, out _, out int offset)) throw new InvalidDataException("the slate is not FLV");
        while (FlvTag.TryRead(flv[offset..], out var tag, out int consumed, out string? error))
        {
            offset += consumed;
            if (!frames.TryWrite(tag, out error)) throw new InvalidDataException($"the slate's FLV: {error}");
        }
        sink.Complete();
        var video = new List<MediaFrame>();
        var audio = new List<MediaFrame>();
        while (reader.TryRead(out var f)) (f!.Kind == MediaKind.Video ? video : audio).Add(f);
        if (video.Count == 0 || !video[0].IsKeyframe || audio.Count == 0)
        {
            foreach (var f in video.Concat(audio)) f.Release();
            throw new InvalidDataException("the slate has no keyframe or no audio");
        }
        return new SlateClip(video, audio);
    }

    public void Dispose()
    {
        foreach (var f in Video) f.Release();
        foreach (var f in Audio) f.Release();
    }
}
