using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Setup;

/// <summary>
/// The README's first command: ./run.sh starts a server that ffmpeg can publish to with the URL and key it
/// prints, and Ctrl-C (SIGINT) stops it cleanly. State goes to a temp directory through the same switches an
/// operator would pass.
/// </summary>
public sealed partial class RunScriptTests
{
    [Fact]
    public async Task Run_script_prints_a_publish_url_and_key_that_work_and_stops_on_ctrl_c()
    {
        using var data = new TempDirectory("run-sh");
        int rtmpPort = FreePort.Tcp();
        int httpPort = FreePort.Tcp();
        // As from a terminal: SIGINT at its default. A test run started as a background job (`./test.sh &`) ignores
        // SIGINT, every child inherits that, and .NET keeps an inherited SIG_IGN, so the server would never see Ctrl-C.
        await using var server = ExternalProcess.Start("env", new[]
        {
            "--default-signal=INT", "bash", Path.Combine(RepoPaths.Root, "run.sh"),
            $"--Rtmp:Port={rtmpPort}",
            $"--Http:Urls=http://127.0.0.1:{httpPort}",
            $"--Storage:Path={data.Combine("media")}",
            $"--Database:ConnectionString=Data Source={data.Combine("broadcast.db")}",
            $"--Secrets:KeyPath={data.Combine("secret.key")}",
            $"--Admin:TokenPath={data.Combine("admin-token")}",
            "--Transcode:Enabled=false",
        }, workingDirectory: RepoPaths.Root, tailLines: 400);

        string? rtmpUrl = null, key = null, hlsUrl = null;
        await WaitFor.ConditionAsync(() =>
        {
            string output = server.Output.Tail(400);
            rtmpUrl = RtmpLine().Match(output) is { Success: true } r ? r.Groups[1].Value : null;
            key = KeyLine().Match(output) is { Success: true } k ? k.Groups[1].Value : null;
            hlsUrl = HlsLine().Match(output) is { Success: true } h ? h.Groups[1].Value : null;
            return Task.FromResult((rtmpUrl is not null && key is not null && hlsUrl is not null) || server.HasExited);
        }, TimeSpan.FromMinutes(4), "run.sh to print the RTMP URL, stream key and HLS URL", () => server.Output.Tail(60));
        Assert.False(server.HasExited, server.Output.Tail(60));
        Assert.Equal($"rtmp://127.0.0.1:{rtmpPort}/live", rtmpUrl);

        var clip = await TestMedia.GetClipAsync(new ClipSpec { Seconds = 6 });
        await using var publisher = FfmpegPublisher.Start(clip, $"{rtmpUrl}/{key}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitFor.ConditionAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(hlsUrl);
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"{hlsUrl} to appear after publishing with the printed URL and key",
            () => "server:\n" + server.Output.Tail(40) + "\npublisher:\n" + publisher.Log.Tail(20));
        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        // Ctrl-C: env and run.sh exec, so the server has this pid and SIGINT reaches it directly.
        using (var interrupt = System.Diagnostics.Process.Start("kill", new[] { "-INT", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }))
        {
            await interrupt!.WaitForExitAsync();
        }
        int exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"server exited {exit} after SIGINT:\n{server.Output.Tail(30)}");
    }

    [GeneratedRegex(@"RTMP server[^\n]*?(rtmp://\S+/live)")]
    private static partial Regex RtmpLine();

    [GeneratedRegex(@"Stream key of channel 'default':\s+(live_[a-z0-9]+)")]
    private static partial Regex KeyLine();

    [GeneratedRegex(@"HLS:\s+(http://\S+/master\.m3u8)")]
    private static partial Regex HlsLine();
}
