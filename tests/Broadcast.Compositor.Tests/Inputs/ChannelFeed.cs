using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.Compositor.Tests.Inputs;

/// <summary>
/// A channel publishing a solid colour and a tone into a hub, live: ffmpeg encodes lavfi <c>color</c> + <c>sine</c>
/// in real time to FLV on stdout, parsed into the hub as an RTMP publisher's frames would be. Disposing kills ffmpeg
/// and ends the publish.
/// </summary>
internal sealed class ChannelFeed : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _pump;
    private readonly LiveStreamRegistry _registry;

    private ChannelFeed(Process process, LiveStreamRegistry registry, LiveStream stream)
    {
        _process = process;
        _registry = registry;
        Stream = stream;
        _pump = Task.Run(PumpAsync);
    }

    public LiveStream Stream { get; }

    public static ChannelFeed Start(LiveStreamRegistry registry, string channel, string colour, int toneHz, int width = 640, int height = 360, int fps = 30) =>
        Start(registry, channel, string.Create(CultureInfo.InvariantCulture, $"color=c={colour}:s={width}x{height}:r={fps}"),
            string.Create(CultureInfo.InvariantCulture, $"sine=frequency={toneHz}:sample_rate=48000"), fps);

    /// <summary>
    /// A grey picture whose top-left corner flashes white, and a 1 kHz beep, both for the first 100 ms of every second of
    /// media time: where a flash and a beep land after processing shows the lip sync.
    /// </summary>
    public static ChannelFeed StartFlashAndBeep(LiveStreamRegistry registry, string channel) =>
        Start(registry, channel, "color=c=0x404040:s=640x360:r=30,drawbox=x=0:y=0:w=200:h=100:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'",
            "sine=frequency=1000:sample_rate=48000:samples_per_frame=480,volume='lt(mod(t\\,1)\\,0.1)':eval=frame", 30);

    /// <summary>A channel of sound alone (a radio feed, a music bed): a tone, no video track.</summary>
    public static ChannelFeed StartSoundOnly(LiveStreamRegistry registry, string channel, int toneHz) =>
        Start(registry, channel, null, string.Create(CultureInfo.InvariantCulture, $"sine=frequency={toneHz}:sample_rate=48000"), 30);

    private static ChannelFeed Start(LiveStreamRegistry registry, string channel, string? video, string audio, int fps)
    {
        if (!registry.TryStartPublish(channel, out var stream)) throw new InvalidOperationException($"{channel} is already published");
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        string[] pictures = video is null ? [] : ["-re", "-f", "lavfi", "-i", video];
        string[] encodePictures = video is null ? [] :
            ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", (fps * 2).ToString(CultureInfo.InvariantCulture)];
        foreach (var arg in (string[])[
            "-hide_banner", "-loglevel", "error",
            .. pictures,
            "-re", "-f", "lavfi", "-i", audio,
            .. encodePictures,
            "-c:a", "aac", "-b:a", "64k", "-ac", "2", "-f", "flv", "pipe:1"]) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return new ChannelFeed(process, registry, stream);
    }

    private async Task PumpAsync()
    {
        var pipe = PipeReader.Create(_process.StandardOutput.BaseStream);
        var demuxer = new FlvDemuxer(Stream);
        var flv = new FlvStreamReader();
        try
        {
            while (true)
            {
                var result = await pipe.ReadAsync().ConfigureAwait(false);
                var consumed = flv.Read(result.Buffer, tag => demuxer.TryWrite(tag, out _), out var error);
                if (error is not null) return;
                pipe.AdvanceTo(consumed, result.Buffer.End);
                if (result.IsCompleted) return;
            }
        }
        catch (IOException)
        {
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        await _process.WaitForExitAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        _registry.EndPublish(Stream);
        _process.Dispose();
    }
}
