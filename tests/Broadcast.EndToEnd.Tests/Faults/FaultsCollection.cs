using System.Globalization;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Faults;

/// <summary>
/// Fault tests: each starts its own server (its configuration differs: a tiny disk, PostgreSQL, S3, a ladder) and
/// breaks something under it. They run one after another and alone, so the 2-core machine is not shared with
/// another server test while a fault's timing is measured.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "faults";
}

/// <summary>Playlists, processes and signals for the fault tests.</summary>
internal static class Fault
{
    /// <summary>A live media playlist as served, or "" when it is not (yet) there.</summary>
    public static async Task<string> PlaylistAsync(HttpClient viewer, string slug, string rendition = "source")
    {
        using var r = await viewer.GetAsync($"live/{slug}/{rendition}/index.m3u8");
        return r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
    }

    /// <summary>The number of the newest segment a playlist names, or -1.</summary>
    public static long LastNumber(string playlist)
    {
        var (_, segments) = S3Nodes.ParsePlaylist(playlist);
        return segments.Count == 0 ? -1 : S3Nodes.SegmentNumber(segments[^1]);
    }

    /// <summary>Waits until the served playlist names a segment at least <paramref name="segments"/> past <paramref name="from"/>; returns that playlist.</summary>
    public static async Task<string> WaitForAdvanceAsync(HttpClient viewer, string slug, long from, int segments, TimeSpan timeout, Func<string> diagnostics, string rendition = "source")
    {
        string text = "";
        await WaitFor.ConditionAsync(async () =>
        {
            text = await PlaylistAsync(viewer, slug, rendition);
            return LastNumber(text) >= from + segments;
        }, timeout, $"{slug}/{rendition} playlist to advance {segments} segments past {from}", () => $"{text}{Environment.NewLine}{diagnostics()}");
        return text;
    }

    /// <summary>
    /// Segment numbers of the playlist are contiguous (each one more than the previous) and its MEDIA-SEQUENCE names
    /// the first; returns a description of the first break, or null.
    /// </summary>
    public static string? Gap(string playlist)
    {
        var (sequence, segments) = S3Nodes.ParsePlaylist(playlist);
        var numbers = segments.Select(S3Nodes.SegmentNumber).ToList();
        if (numbers.Count > 0 && numbers[0] != sequence) return $"MEDIA-SEQUENCE {sequence} but first segment {numbers[0]}";
        for (int i = 1; i < numbers.Count; i++)
            if (numbers[i] != numbers[i - 1] + 1) return $"segment {numbers[i - 1]} followed by {numbers[i]}";
        return null;
    }

    /// <summary>Sends a signal with kill(1) (SIGTERM, SIGKILL...).</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        var result = await ExternalProcess.RunAsync("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(result.ExitCode == 0, $"kill -{signal} {pid}: {result.OutputTail}");
    }

    /// <summary>Direct children of <paramref name="parent"/> whose command name is <paramref name="comm"/> (from /proc/*/stat).</summary>
    public static List<int> Children(int parent, string comm)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            // pid (comm) state ppid ...
            int close = stat.LastIndexOf(')');
            string name = stat[(stat.IndexOf('(') + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            if (name == comm && int.Parse(fields[1], CultureInfo.InvariantCulture) == parent) found.Add(pid);
        }

        return found;
    }
}
