using System.Diagnostics;

namespace Broadcast.TestSupport;

/// <summary>What ffmpeg decoded of a file: its exit code, one framemd5 hash per frame (the timing columns dropped) and its error lines.</summary>
public sealed record FrameMd5Result(int ExitCode, IReadOnlyList<string> Hashes, string Errors);

/// <summary>
/// ffmpeg's framemd5 of a file fed through a pipe, as a live player reads segments: ffmpeg 5.1, given a seekable file of
/// several fragments, parses every moof before the first packet and then decrypts every sample with the last fragment's
/// senc (docs/protection.md). The encryption tests compare these hashes with and without a key.
/// </summary>
public static class FrameMd5
{
    /// <summary>Decodes <paramref name="file"/>'s streams <paramref name="map"/> (ffmpeg's -map) with <paramref name="inputOptions"/> before the input.</summary>
    public static FrameMd5Result Of(string file, string map, params string[] inputOptions)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("f=$1; m=$2; shift 2; exec ffmpeg -hide_banner -nostdin -loglevel error \"$@\" -i pipe:0 -map \"$m\" -f framemd5 - < \"$f\"");
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(file);
        info.ArgumentList.Add(map);
        foreach (var option in inputOptions) info.ArgumentList.Add(option);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("sh did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ffmpeg did not finish decoding {file} within 2 minutes");
        }

        process.WaitForExit(); // the redirected streams' end
        var hashes = stdout.Result.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(',')[^1].Trim()).ToList();
        return new FrameMd5Result(process.ExitCode, hashes, stderr.Result.Trim());
    }
}
