using System.Globalization;

namespace Broadcast.TestSupport;

/// <summary>A real encoder pushing RTMP (ffmpeg or GStreamer) as a supervised child process.</summary>
public abstract class RtmpPublisher : IAsyncDisposable
{
    private protected RtmpPublisher(ExternalProcess process, string url)
    {
        Process = process;
        Url = url;
    }

    public ExternalProcess Process { get; }

    public string Url { get; }

    public LineRingBuffer Log => Process.Output;

    public bool HasExited => Process.HasExited;

    /// <summary>Waits for the publisher to finish (end of clip or refused) and returns its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => Process.WaitForExitAsync(timeout);

    /// <summary>Stops publishing now (kills the process tree).</summary>
    public void Stop() => Process.Kill();

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Process.DisposeAsync();
    }
}

/// <summary><c>ffmpeg -re -i clip -c copy -f flv rtmp://...</c>: the most common real-world publisher.</summary>
public sealed class FfmpegPublisher : RtmpPublisher
{
    private FfmpegPublisher(ExternalProcess process, string url) : base(process, url)
    {
    }

    /// <param name="realtime">-re: send at the clip's pace, as a live encoder would.</param>
    /// <param name="loops">Extra times to loop the input (-stream_loop); 0 plays it once.</param>
    public static FfmpegPublisher Start(string clipPath, string rtmpUrl, bool realtime = true, int loops = 0, IEnumerable<string>? extraOutputArgs = null)
    {
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "info" };
        if (realtime)
        {
            args.Add("-re");
        }

        if (loops != 0)
        {
            args.AddRange(["-stream_loop", loops.ToString(CultureInfo.InvariantCulture)]);
        }

        args.AddRange(["-i", clipPath, "-c", "copy"]);
        if (extraOutputArgs is not null)
        {
            args.AddRange(extraOutputArgs);
        }

        args.AddRange(["-f", "flv", rtmpUrl]);
        return new FfmpegPublisher(ExternalProcess.Start("ffmpeg", args), rtmpUrl);
    }
}

/// <summary>
/// GStreamer pushing an FLV clip unchanged through flvdemux → parsers → flvmux → rtmp2sink. GStreamer's
/// flvmux stamps and orders tags differently from ffmpeg's (keyframes a frame early, see DESIGN.md), which
/// is exactly why a second encoder is worth testing against.
/// </summary>
public sealed class GStreamerPublisher : RtmpPublisher
{
    private GStreamerPublisher(ExternalProcess process, string url) : base(process, url)
    {
    }

    /// <summary>The gst-launch-1.0 arguments (one pipeline element or property per argument).</summary>
    public static IReadOnlyList<string> PipelineArguments(string flvClipPath, string rtmpUrl) =>
    [
        "-e", "-q",
        "filesrc", $"location={flvClipPath}", "!", "flvdemux", "name=d",
        "d.video", "!", "queue", "!", "h264parse", "!", "m.",
        "d.audio", "!", "queue", "!", "aacparse", "!", "m.",
        "flvmux", "name=m", "streamable=true", "!",
        // sync=true paces the push at the clip's timestamps, like ffmpeg -re.
        "rtmp2sink", $"location={rtmpUrl}", "sync=true",
    ];

    /// <param name="flvClipPath">An FLV clip (H.264 + AAC), e.g. from <see cref="TestMedia"/>.</param>
    public static GStreamerPublisher Start(string flvClipPath, string rtmpUrl) =>
        new(ExternalProcess.Start("gst-launch-1.0", PipelineArguments(flvClipPath, rtmpUrl)), rtmpUrl);
}
