using System.Globalization;

namespace Broadcast.TestSupport;

/// <summary>
/// ffmpeg encoding a synthetic live source (lavfi <c>testsrc2</c> + <c>sine</c>) in real time and pushing it over
/// RTMP until stopped: for tests that need a publisher running for as long as they do (faults, soak) rather than a
/// clip of fixed length. Small on purpose (libx264 ultrafast, low resolution): several fit on two cores.
/// </summary>
public sealed class LavfiPublisher : RtmpPublisher
{
    private LavfiPublisher(ExternalProcess process, string url) : base(process, url)
    {
    }

    /// <summary>
    /// The ffmpeg arguments (also used by bench/soak.sh's driver). With <paramref name="colour"/> the picture is that solid
    /// colour (an ffmpeg colour name) instead of testsrc2, and <paramref name="toneHz"/> sets the sine: sources a test can
    /// tell apart in a composition by colour and by ear.
    /// </summary>
    public static IReadOnlyList<string> Arguments(string rtmpUrl, int width = 320, int height = 180, int fps = 25, int gopSeconds = 2,
        string? colour = null, int toneHz = 440) =>
    [
        "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-re", "-f", "lavfi", "-i", colour is null
            ? string.Create(CultureInfo.InvariantCulture, $"testsrc2=size={width}x{height}:rate={fps}")
            : string.Create(CultureInfo.InvariantCulture, $"color=c={colour}:size={width}x{height}:rate={fps}"),
        "-re", "-f", "lavfi", "-i", string.Create(CultureInfo.InvariantCulture, $"sine=frequency={toneHz}:sample_rate=48000"),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", (fps * gopSeconds).ToString(CultureInfo.InvariantCulture), "-b:v", "300k",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "flv", rtmpUrl,
    ];

    public static LavfiPublisher Start(string rtmpUrl, int width = 320, int height = 180, int fps = 25) =>
        new(ExternalProcess.Start("ffmpeg", Arguments(rtmpUrl, width, height, fps)), rtmpUrl);

    /// <summary>A solid <paramref name="colour"/> with a <paramref name="toneHz"/> sine.</summary>
    public static LavfiPublisher StartSolid(string rtmpUrl, string colour, int toneHz, int width = 320, int height = 180, int fps = 25) =>
        new(ExternalProcess.Start("ffmpeg", Arguments(rtmpUrl, width, height, fps, colour: colour, toneHz: toneHz)), rtmpUrl);
}
