using System.Diagnostics;
using System.Globalization;

namespace Broadcast.Compositor.Tests.Inputs;

/// <summary>ffmpeg sending a colour as VP8 and a tone as Opus over RTP in real time, as a room's media server forwards a participant.</summary>
internal sealed class RtpSender : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];

    private RtpSender(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.Add(e.Data);
        };
        _process.BeginErrorReadLine();
    }

    public static RtpSender Start(string colour, int toneHz, int videoPort, int audioPort)
    {
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", $"color=c={colour}:s=640x480:r=30",
            "-f", "lavfi", "-i", string.Create(CultureInfo.InvariantCulture, $"sine=frequency={toneHz}:sample_rate=48000"),
            "-t", "60",
            "-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "500k",
            "-payload_type", "96", "-f", "rtp", string.Create(CultureInfo.InvariantCulture, $"rtp://127.0.0.1:{videoPort}"),
            "-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "64k",
            "-payload_type", "111", "-f", "rtp", string.Create(CultureInfo.InvariantCulture, $"rtp://127.0.0.1:{audioPort}"),
        })
        {
            info.ArgumentList.Add(arg);
        }
        return new RtpSender(Process.Start(info)!);
    }

    public string Tail()
    {
        lock (_stderr) return "sender: " + string.Join('\n', _stderr.TakeLast(10));
    }

    public void Dispose()
    {
        try { _process.Kill(); }
        catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}
