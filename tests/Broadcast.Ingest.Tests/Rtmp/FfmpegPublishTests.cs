using System.Diagnostics;
using Broadcast.Media;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>End to end with a real encoder: ffmpeg publishes a generated clip over RTMP to a real RtmpServer.</summary>
[Trait("Kind", "Component")]
public sealed class FfmpegPublishTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rtmp-ffmpeg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    private async Task<string> MakeClipAsync()
    {
        string clip = Path.Combine(_dir, "clip.flv");
        var (code, output) = await RunAsync("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", clip);
        Assert.True(code == 0, output);
        return clip;
    }

    private static async Task<long> CountVideoFramesAsync(string clip)
    {
        var (code, output) = await RunAsync("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", clip);
        Assert.True(code == 0, output);
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Ffmpeg_publishes_every_video_frame_and_a_wrong_key_fails()
    {
        string clip = await MakeClipAsync();
        long expectedFrames = await CountVideoFramesAsync(clip);
        await using var host = await RtmpTestHost.StartAsync();
        LiveStream? published = null;
        host.Registry.Published += s => published = s;
        int port = host.EndPoint.Port;

        var (code, output) = await RunAsync("ffmpeg", "-hide_banner", "-loglevel", "warning", "-re", "-i", clip,
            "-c", "copy", "-f", "flv", $"rtmp://127.0.0.1:{port}/live/{TestPublishAuthorizer.GoodKey}");
        Assert.True(code == 0, output);
        Assert.NotNull(published);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => published!.IsCompleted));
        Assert.Equal(expectedFrames, published!.Statistics.VideoFrames);
        Assert.True(published.Statistics.AudioFrames > 0);
        Assert.NotNull(published.Video);
        Assert.Equal(320, published.Video!.Width);
        Assert.True(published.Metadata.ContainsKey("width"));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId == 1004 || e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);

        var (badCode, badOutput) = await RunAsync("ffmpeg", "-hide_banner", "-loglevel", "warning", "-re", "-i", clip,
            "-c", "copy", "-f", "flv", $"rtmp://127.0.0.1:{port}/live/not-a-key");
        Assert.NotEqual(0, badCode);
        Assert.Contains("unknown stream key", badOutput);
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1006 && e.Message.Contains("NetStream.Publish.BadName"));
    }
}
