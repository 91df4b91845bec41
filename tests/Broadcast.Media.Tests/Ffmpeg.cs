using System.Diagnostics;
using System.Text.Json;

namespace Broadcast.Media.Tests;

/// <summary>Runs the machine's ffmpeg/ffprobe for tests that check parsers against the real encoders.</summary>
internal static class Ffmpeg
{
    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed: {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>The first stream of <c>ffprobe -show_streams -of json</c>.</summary>
    public static JsonElement ProbeFirstStream(string path, params string[] extra)
    {
        var args = new List<string> { "-v", "error" };
        args.AddRange(extra);
        args.AddRange(["-show_streams", "-of", "json", path]);
        var json = Run("ffprobe", args.ToArray());
        return JsonDocument.Parse(json).RootElement.GetProperty("streams")[0].Clone();
    }
}

/// <summary>A temp directory removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bcast-media-" + Guid.NewGuid().ToString("N")));

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
