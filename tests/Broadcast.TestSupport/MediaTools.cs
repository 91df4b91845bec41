using System.Diagnostics;
using System.Text.Json;

namespace Broadcast.TestSupport;

/// <summary>
/// Runs the machine's ffmpeg and ffprobe synchronously for parser and writer tests that check their bytes
/// against the real tools (argument lists, never a joined command line).
/// </summary>
public static class MediaTools
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static string Run(string tool, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish within {Timeout}.");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    /// <summary><c>ffprobe -show_packets -show_streams -of json</c>.</summary>
    public static JsonDocument Probe(string path) =>
        JsonDocument.Parse(Run("ffprobe", "-v", "error", "-show_packets", "-show_streams", "-of", "json", path));

    /// <summary>The first stream of <c>ffprobe -show_streams -of json</c>.</summary>
    public static JsonElement ProbeFirstStream(string path, params string[] extra)
    {
        var args = new List<string> { "-v", "error" };
        args.AddRange(extra);
        args.AddRange(["-show_streams", "-of", "json", path]);
        using var json = JsonDocument.Parse(Run("ffprobe", args.ToArray()));
        return json.RootElement.GetProperty("streams")[0].Clone();
    }
}
