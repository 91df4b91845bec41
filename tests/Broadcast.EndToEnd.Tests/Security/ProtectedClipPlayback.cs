using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Clips;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// A clip of a protected broadcast in the browser (docs/protection.md "Clips of protected broadcasts"): made from 0.9 s
/// into a stored segment so the finisher re-cuts that first segment as a piece of its own and encrypts it again, waited for
/// until its ends are cut, and played in hls.js through that piece into the broadcast's stored segments.
/// </summary>
internal static class ProtectedClipPlayback
{
    /// <summary>A 5 s clip of the channel's live window; answers the clip's API path and HLS master.</summary>
    public static async Task<(string Api, Uri Master)> MakeAsync(ServerProcess server, string channelId, string slug, Func<string> diagnostics)
    {
        var segments = await ClipFrameEndToEndTests.StoredSegmentsAsync(server, slug, 1, 0, 8, m => $"{m}{Environment.NewLine}{diagnostics()}");
        var end = segments[^1].Start.AddSeconds(segments[^1].Seconds);
        var from = segments.Last(s => (end - s.Start).TotalSeconds >= 6.5).Start.AddMilliseconds(900);
        return await CreateAsync(server, channelId, from, from.AddSeconds(5), "Protected clip", diagnostics);
    }

    /// <summary>A clip of the channel from <paramref name="from"/> to <paramref name="to"/>; answers its API path and HLS master.</summary>
    public static async Task<(string Api, Uri Master)> CreateAsync(ServerProcess server, string channelId, DateTimeOffset from, DateTimeOffset to,
        string title, Func<string> diagnostics)
    {
        using var created = await server.Http.PostAsJsonAsync($"api/channels/{channelId}/clips", new { from = Iso(from), to = Iso(to), title });
        string body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"POST clips answered {(int)created.StatusCode}: {body}{Environment.NewLine}{diagnostics()}");
        var clip = JsonDocument.Parse(body).RootElement;
        return ($"api/channels/{channelId}/clips/{clip.GetProperty("id").GetString()}", new Uri(clip.GetProperty("hlsUrl").GetString()!));
    }

    /// <summary>Waits until the clip's ends are cut to the frame; answers its master and its source media playlist then.</summary>
    public static async Task<(string Master, string Media)> CutAsync(ServerProcess server, (string Api, Uri Master) clip, Func<string> diagnostics)
    {
        string answer = "";
        await WaitFor.ConditionAsync(async () =>
        {
            answer = await server.Http.GetStringAsync(clip.Api);
            return JsonDocument.Parse(answer).RootElement.GetProperty("frameAccurate").GetBoolean();
        }, TimeSpan.FromSeconds(120), $"the clip {clip.Api} to be cut to the frame", () => $"{answer}{Environment.NewLine}{diagnostics()}",
            TimeSpan.FromMilliseconds(500));
        return (await server.Viewer.GetStringAsync(clip.Master), await server.Viewer.GetStringAsync(new Uri(clip.Master, "source.m3u8")));
    }

    /// <summary>The first piece's duration (its own EXTINF, after its own init's EXT-X-MAP), checked to be the re-cut piece.</summary>
    public static double FirstPieceSeconds(string media, Func<string> playlists)
    {
        int map = media.IndexOf("#EXT-X-MAP:URI=\"source/first-init.mp4\"\n", StringComparison.Ordinal);
        Assert.True(map >= 0, playlists());
        int first = media.IndexOf("#EXTINF:", map, StringComparison.Ordinal) + "#EXTINF:".Length;
        double piece = double.Parse(media.AsSpan(first, media.IndexOf(',', first) - first), CultureInfo.InvariantCulture);
        Assert.True(media.IndexOf("\nsource/first.m4s\n", first, StringComparison.Ordinal) > 0 && piece < 2, playlists());
        return piece;
    }

    /// <summary>
    /// Plays the clip in hls.js (with <paramref name="clearKeyLicense"/> when it is Common Encryption) past its first piece of
    /// <paramref name="piece"/> s: the source's width, every frame decoded (a piece that did not decrypt or append would be a
    /// hole hls.js jumps over, and fewer frames), no fatal error. Answers the frames decoded.
    /// </summary>
    public static async Task<int> PlaysPastFirstPieceAsync(BrowserHost browser, Uri master, string? clearKeyLicense, double piece, ClipSpec source,
        string name, Func<string> diagnostics)
    {
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(master.ToString(), clearKeyLicense);
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), diagnostics);
            await player.WaitForCurrentTimeAsync(piece + 1.5, TimeSpan.FromSeconds(45), diagnostics);
            Assert.Equal(source.Width, await player.GetVideoWidthAsync());
            int frames = await player.EvaluateAsync<int>("() => document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames");
            Assert.True(frames >= (piece + 1) * source.Fps, $"{name}: {frames} frames decoded{Environment.NewLine}{await player.DescribeAsync()}");
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, $"{name}: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            return frames;
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"protected-clip-{name.Replace(' ', '-')}.png"));
            throw;
        }
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
